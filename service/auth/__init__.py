"""Who is calling: API keys, or the app's `langgraph_sdk.Auth` policy, turned into an identity and
the filters it gets."""
