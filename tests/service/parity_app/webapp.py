"""The app's own routes (`http.app`), served beside the API, with a lifespan of its own."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.greeting = "world"  # what an app opens at start (a client, a pool)
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/parity/hello")
async def hello(request: Request) -> dict[str, str]:
    return {"hello": request.app.state.greeting}
