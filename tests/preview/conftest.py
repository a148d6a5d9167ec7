from tests.support.built import apartment, office

__all__ = ["apartment", "office"]
