"""Request bodies of the API as pydantic models: what each route accepts, validated up front."""
