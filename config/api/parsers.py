from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, plus a 400 instead of a 500 for pathologically nested documents.

    ``json.load`` raises RecursionError (not ValueError) on deep nesting such as ``[[[[...]]]]``,
    which DRF does not catch; a 256 KiB body can nest far deeper than the interpreter allows.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
