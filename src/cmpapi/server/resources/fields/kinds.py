"""The CMP field types and what each one has: type-specific options, choices, value shape.

One table drives everything that differs by type (creation, updates, value validation,
rendering), so no code path branches on a type name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldKind:
    """What a field type has.

    ``values`` names the value normaliser (``text``, ``choice``, ``number``, ``date``,
    ``file``); ``options`` are the type-specific settings, stored in their own columns;
    ``max_values`` bounds the values an object may hold (None: unbounded), lifted for
    multi-select fields.
    """

    values: str
    options: tuple[str, ...] = ()
    has_choices: bool = False
    colored_choices: bool = False
    max_values: int | None = 1

    def value_limit(self, is_multi_select: bool | None) -> int | None:
        """How many values a field of this kind accepts."""
        return None if is_multi_select else self.max_values


_NUMBER = ("decimal_places", "has_thousand_separator")
_MULTI = ("is_multi_select",)

KINDS: dict[str, FieldKind] = {
    "text": FieldKind("text"),
    "text_area": FieldKind("text"),
    "rich_text": FieldKind("text"),
    "date": FieldKind("date"),
    "image": FieldKind("file"),
    "video": FieldKind("file"),
    "checkbox": FieldKind("choice", has_choices=True, max_values=None),
    "radio_button": FieldKind("choice", has_choices=True),
    "dropdown": FieldKind("choice", _MULTI, has_choices=True),
    "label": FieldKind("choice", _MULTI, has_choices=True, colored_choices=True),
    "simple_number": FieldKind("number", _NUMBER),
    "percentage_number": FieldKind("number", _NUMBER),
    "currency_number": FieldKind("number", (*_NUMBER, "currency_code")),
}
FIELD_TYPES = tuple(KINDS)

# The spec's palette for label choices (LabelTypeSettingsFieldChoiceCreatePayload.color).
LABEL_COLORS = frozenset(
    (
        "#4ECFD5",
        "#FFC700",
        "#FF98A7",
        "#702BD5",
        "#5FEEAD",
        "#D6C4F2",
        "#5F9FF6",
        "#CB5DEB",
        "#9694B3",
    )
)

# ISO 4217 active codes: currency_number fields accept these (the spec: "a valid currency code").
_ISO_4217 = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR
    ZMW ZWG
"""
CURRENCY_CODES = frozenset(_ISO_4217.split())
