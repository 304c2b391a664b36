"""The app's auth handler: `Authorization: Bearer <user>`; each user sees their own threads."""

from langgraph_sdk import Auth

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    scheme, _, user = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not user.isalnum():
        raise Auth.exceptions.HTTPException(status_code=401, detail="Use: Bearer <user name>")
    return user


@auth.on.threads
async def own_threads(ctx: Auth.types.AuthContext, value: dict) -> dict:
    owner = {"owner": ctx.user.identity}
    if value.get("metadata") is None:
        value["metadata"] = {}
    value["metadata"].update(owner)  # in place: the server keeps this dict
    return owner
