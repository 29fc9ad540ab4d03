"""The region-encoder registry: encoder name -> class, and the per-encoder check of a region config.

It imports nothing of GeneBERT's, so the configuration can validate against it and the encoders
can register into it without either importing the other. ``region_encoders`` registers the
built-in encoders ("native", "timm") when it is imported; the region config imports it before it
validates, so a config is judged the same whatever was imported first.

This file is exported as Hub remote code: it imports only the standard library.
"""

REGION_ENCODERS: dict[str, type] = {}


def register_region_encoder(name: str):
    """Class decorator: make an encoder available as ``GeneBertRegionConfig(encoder=name)``."""

    def register(cls: type) -> type:
        known = REGION_ENCODERS.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"region encoder {name!r} is already registered as {known.__module__}.{known.__qualname__}")
        REGION_ENCODERS[name] = cls
        return cls

    return register


def list_region_encoders() -> list[str]:
    return sorted(REGION_ENCODERS)


def get_region_encoder_class(name: str) -> type:
    if name not in REGION_ENCODERS:
        raise ValueError(
            f"unknown region encoder {name!r}; registered: {list_region_encoders()} "
            "(import the module that registers it before building the config)"
        )
    return REGION_ENCODERS[name]


def validate_region_encoder_config(config) -> None:
    """Check that ``config.encoder`` is registered, then run that encoder's own ``validate_config``."""
    validate = getattr(get_region_encoder_class(config.encoder), "validate_config", None)
    if validate is not None:
        validate(config)


__all__ = [
    "REGION_ENCODERS",
    "get_region_encoder_class",
    "list_region_encoders",
    "register_region_encoder",
    "validate_region_encoder_config",
]
