"""The app's own routes (`http.app`), served beside the API."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/parity/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
