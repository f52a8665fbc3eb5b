"""The viewer's words in English and French, chosen from the ``Accept-Language`` header
(RFC 9110 §12.5.4: language ranges with q-values; the first highest-weighted range whose
primary subtag we speak wins; English otherwise)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

DEFAULT = "en"

CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Multimedia message",
        "no_subject": "(no subject)",
        "from": "From",
        "date": "Sent",
        "slide": "Slide {n} of {total}",
        "previous": "Previous slide",
        "next": "Next slide",
        "play": "Play the slides",
        "pause": "Pause",
        "picture": "Picture {n}",
        "cannot_play": "This {kind} ({type}) cannot be played in the browser; download it below.",
        "not_shown": "This part ({type}) is not shown in the browser; download it below.",
        "missing": "A part of this slide is missing from the message.",
        "parts": "Every part of the message",
        "download": "Download",
        "kind_audio": "sound",
        "kind_video": "video",
        "pin_title": "Enter the code",
        "pin_help": "The code is in the SMS that brought you this link.",
        "pin_label": "Code from the SMS",
        "pin_submit": "Show the message",
        "pin_wrong": "Wrong code. Tries left: {n}.",
        "pin_malformed": "Type the digits of the code.",
        "locked_title": "Link locked",
        "locked_text": "The code was typed wrong too many times; this link is locked.",
        "gone_title": "Link not available",
        "gone_text": "This link is unknown, has expired or was withdrawn.",
        "error_title": "Request refused",
        "error_text": "The server could not take this request.",
    },
    "fr": {
        "title": "Message multimédia",
        "no_subject": "(sans objet)",
        "from": "De",
        "date": "Envoyé",
        "slide": "Diapositive {n} sur {total}",
        "previous": "Diapositive précédente",
        "next": "Diapositive suivante",
        "play": "Lire le diaporama",
        "pause": "Pause",
        "picture": "Image {n}",
        "cannot_play": "Ce {kind} ({type}) ne peut pas être lu dans le navigateur ; "
                       "téléchargez-le ci-dessous.",
        "not_shown": "Cette partie ({type}) n’est pas affichée dans le navigateur ; "
                     "téléchargez-la ci-dessous.",
        "missing": "Une partie de cette diapositive manque au message.",
        "parts": "Toutes les parties du message",
        "download": "Télécharger",
        "kind_audio": "son",
        "kind_video": "film",
        "pin_title": "Saisissez le code",
        "pin_help": "Le code figure dans le SMS qui vous a apporté ce lien.",
        "pin_label": "Code reçu par SMS",
        "pin_submit": "Afficher le message",
        "pin_wrong": "Code erroné. Essais restants : {n}.",
        "pin_malformed": "Saisissez les chiffres du code.",
        "locked_title": "Lien verrouillé",
        "locked_text": "Le code a été mal saisi trop de fois ; ce lien est verrouillé.",
        "gone_title": "Lien indisponible",
        "gone_text": "Ce lien est inconnu, a expiré ou a été retiré.",
        "error_title": "Requête refusée",
        "error_text": "Le serveur n’a pas pu traiter cette requête.",
    },
}

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}
_UNITS = {"en": ("bytes", "KB", "MB"), "fr": ("octets", "Ko", "Mo")}
_RANGE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def negotiate(header: str | None) -> str:
    """The language to answer in for an ``Accept-Language`` header."""
    best, best_q = DEFAULT, 0.0
    for item in (header or "")[:1024].split(","):
        match = _RANGE.fullmatch(item)
        if not match:
            continue
        try:
            q = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        primary = match.group(1).split("-")[0].lower()
        if primary in CATALOGS and q > best_q:
            best, best_q = primary, q
    return best


class Words:
    """The catalog of one language, as templates call it: ``t("slide", n=1, total=3)``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGS else DEFAULT
        self._catalog = CATALOGS[self.language]

    def __call__(self, key: str, **values: object) -> str:
        return self._catalog[key].format(**values)

    def size(self, octets: int) -> str:
        """A size as people read it: octets, then KB and MB (of 1024)."""
        unit = _UNITS[self.language]
        if octets < 1024:
            return f"{octets} {unit[0]}"
        value, name = (octets / 1024, unit[1]) if octets < 1024 * 1024 else (
            octets / 1024 / 1024, unit[2])
        text = f"{value:.1f}"
        return f"{text.replace('.', ',') if self.language == 'fr' else text} {name}"

    def date(self, when: float) -> str:
        moment = datetime.fromtimestamp(when, timezone.utc)
        month = _MONTHS[self.language][moment.month - 1]
        return f"{moment.day} {month} {moment.year}, {moment:%H:%M} UTC"
