"""The user an auth policy's `@auth.authenticate` handler returned, as routes and graphs see it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.authentication import BaseUser


class AuthUser(BaseUser):
    """The user an `@auth.authenticate` handler returned: `identity`, `display_name`,
    `is_authenticated`, and every other field it gave, by attribute or by key."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        if not isinstance(fields.get("identity"), str) or not fields["identity"]:
            raise TypeError("the user has no 'identity' string")
        self._fields = {
            "is_authenticated": True,
            "display_name": fields["identity"],
            **fields,
        }

    @classmethod
    def of(cls, user: Any) -> AuthUser:
        """The user a handler returned: a string identity, a mapping or an object (a
        `BaseUser`, a pydantic model, ...) with `identity`."""
        if isinstance(user, AuthUser):
            return user
        if isinstance(user, str):
            return cls({"identity": user})
        if isinstance(user, Mapping):
            return cls(dict(user))
        fields: dict[str, Any] = {}
        if callable(getattr(user, "model_dump", None)):
            fields.update(user.model_dump(mode="json"))
        elif callable(getattr(user, "dict", None)):
            fields.update(user.dict())
        else:  # a plain object or a dataclass: its public attributes
            public = getattr(user, "__dict__", {})
            fields.update({k: v for k, v in public.items() if not k.startswith("_")})
        for name in ("identity", "display_name", "is_authenticated", "permissions"):
            try:
                fields.setdefault(name, getattr(user, name))
            except (AttributeError, NotImplementedError):
                continue
        return cls(fields)

    @property
    def identity(self) -> str:
        return self._fields["identity"]

    @property
    def display_name(self) -> str:
        return self._fields["display_name"]

    @property
    def is_authenticated(self) -> bool:
        return bool(self._fields["is_authenticated"])

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def get(self, key: str, default: Any = None) -> Any:
        return self._fields.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The user's fields, as a run records them (JSON)."""
        return dict(self._fields)

    def __repr__(self) -> str:
        return f"AuthUser(identity={self.identity!r})"
