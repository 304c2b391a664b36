"""The OpenAI-compatible front: `/v1/models`, `/v1/chat/completions`, `/v1/responses`.

A thin protocol front over the same runs as `/threads/{id}/runs`: each request becomes a run of
an assistant (the "model"), admitted by the `RunManager`, and its events become OpenAI's.
"""
