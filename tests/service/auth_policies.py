"""The owner-only `langgraph_sdk.Auth` policy (as the auth docs write it) that the policy and
cross-front tests serve: alice and bob by bearer token, each seeing only their own resources."""

OWNER_ONLY = '''
from langgraph_sdk import Auth

auth = Auth()
USERS = {"token-alice": "alice", "token-bob": "bob"}


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token not in USERS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid or missing token")
    return USERS[token]


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: dict):
    filters = {"owner": ctx.user.identity}
    metadata = value.setdefault("metadata", {})
    metadata.update(filters)
    return filters


@auth.on.store()
async def own_namespace(ctx: Auth.types.AuthContext, value: dict):
    namespace = value["namespace"]
    assert namespace and namespace[0] == ctx.user.identity, "Not your namespace"
'''
