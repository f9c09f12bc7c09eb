"""Flask's JSON provider with orjson writing the responses: a 20-plugin page costs 0.02 ms to encode instead
of 0.14 ms (measured, issue 21). Values orjson leaves to a fallback (dates, decimals, dataclasses) get Flask's
own conversions, so bodies mean what they meant; what orjson refuses (integers beyond 64 bits) is written by
the standard library as before. Request bodies are still parsed by the standard library."""

import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonProvider(DefaultJSONProvider):
    sort_keys = False

    def _encode(self, obj) -> bytes | None:
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return None

    def dumps(self, obj, **kwargs) -> str:
        if kwargs:  # a caller asking for indent, sort_keys...: the standard library honours them
            return super().dumps(obj, **kwargs)
        encoded = self._encode(obj)
        return encoded.decode() if encoded is not None else super().dumps(obj)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        encoded = self._encode(obj)
        if encoded is None:
            return super().response(obj)
        return self._app.response_class(encoded + b"\n", mimetype=self.mimetype)
