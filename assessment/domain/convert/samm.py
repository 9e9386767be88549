"""OWASP SAMM's model folder -> a maturity framework file of ours (format 1).

SAMM v2's model is a folder of YAML files, one object a file, each with its `type` and a GUID
`id`, linked by those GUIDs: business functions (Function) hold security practices (Practice),
each with two streams (Stream, letters A and B); an activity (Activity) belongs to a stream and
a practice level (PracticeLevel: a practice at a maturity level, MaturityLevel 1 to 3); a
question (Question) measures an activity and names its answer set (AnswerSet: answers, each
with a `value` from 0 to 1). The folder is recognised by these `type`s, not by file names.

The rules (docs/convert.md says the same for users):

- Levels: 0 (the floor, nothing needed), then the maturity levels by number.
- Domains are the **practices** (15), in the order of their function, then their own: SAMM
  scores a practice (the mean of its streams' answers) and rates its maturity level, so a
  domain's score and level here are the practice's; a function would hide the practices' levels
  behind one. The function is named in the domain's description.
- One requirement per question, at its activity's maturity level; the stream is the section.
  Its id is `<function initial>-<practice shortName>-<stream letter>-<level>` (`D-SA-A-1`),
  the form in which other models (DSOMM's `samm2` references) cite SAMM activities; a second
  question of one activity adds `.<order>`. Each part comes from the model, so the id leads
  back to one activity; two that give the same id are an error naming both files.
- Each answer set is a scale `answers_<file name>`: one option an answer, in its `order`,
  labelled with its text, its `value` as the credit, the option value made from the text
  (`Yes, for some applications` -> `yes-for-some-applications`). A question answers on its set.
- Weights: the model gives one only per answer (`weight`, 1 throughout), which our scale
  options cannot carry; practices, streams and questions have none, so every weight is 1,
  as in SAMM's own scoring.
- Texts are the source's: the title the activity's, the question the question's, the
  guidance its quality criteria, the activity's descriptions and benefit, the level's objective.
- `license` is the name of the licence in the folder's (or its parent's) license.txt
  (`Attribution-ShareAlike 4.0 International` -> `CC BY-SA 4.0`); `version` the functions'
  `model` (`SAMM20`).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ROOT_PATH, Problem
from ..loader import ITEM_ID
from . import ConversionError, Converter, Documents, Folder
from .names import shorten

EXPECTS = "an OWASP SAMM model folder (YAML files of type Function, Practice, Stream, Activity, Question, AnswerSet)"
FRAMEWORK_ID = "owasp-samm"
TITLE = "OWASP Software Assurance Maturity Model (SAMM)"
TYPES = ("Function", "Practice", "Stream", "MaturityLevel", "PracticeLevel", "Activity", "Question", "AnswerSet")
LICENSE_FILES = ("license.txt", "license", "license.md")
_ID = re.compile(ITEM_ID)
_CC = re.compile(
    r"(?:Creative Commons )?Attribution((?:-NonCommercial)?(?:-ShareAlike|-NoDerivatives|-NoDerivs)?) (\d\.\d)"
    r"(?: International)?",
    re.IGNORECASE,
)
_CC_PARTS = {"noncommercial": "NC", "sharealike": "SA", "noderivatives": "ND", "noderivs": "ND"}
OPTION_LENGTH = 48


def _typed(folder: Folder) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The folder's documents by their `type`, each as (path, document), in path order."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {kind: [] for kind in TYPES}
    for path, document in sorted(folder.documents.items()):
        kind = document.get("type") if isinstance(document, dict) else None
        if isinstance(kind, str) and kind in found:
            found[kind].append((path, document))
    return found


def is_model(document: Any) -> bool:
    """Whether the source is a folder holding SAMM's practices and questions."""
    if not isinstance(document, Folder):
        return False
    typed = _typed(document)
    return bool(typed["Practice"]) and bool(typed["Question"])


def licence_name(text: str) -> str | None:
    """A licence's short name from its text's first line: `CC BY-SA 4.0` for Creative Commons, else that line."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), None)
    if first is None:
        return None
    match = _CC.fullmatch(first)
    if not match:
        return shorten(first)
    parts = [_CC_PARTS[p.lower()] for p in match.group(1).split("-") if p]
    return f"CC {'-'.join(['BY', *parts])} {match.group(2)}"


def option_value(text: str) -> str:
    """An option value from an answer's text: lower case, other characters as `-`, cut at a word."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(value) > OPTION_LENGTH:
        value = value[:OPTION_LENGTH].rsplit("-", 1)[0]
    return value


def _guid(value: Any) -> str | None:
    """A GUID as `_Conversion.text` reads it (a number as its digits, text stripped), to look objects up by."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value.strip() or None if isinstance(value, str) else None


def _line(mapping: Any, key: str | None = None) -> int:
    if key is not None and hasattr(mapping, "line_of"):
        return mapping.line_of(key)
    return getattr(mapping, "line", 1)


class _Conversion:
    """One folder's conversion; collects every problem before raising."""

    def __init__(self, folder: Folder):
        self.folder = folder
        self.problems: list[Problem] = []
        self.typed = _typed(folder)
        self.by_id: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}

    def error(self, path: str, line: int, key: str, message: str) -> None:
        self.problems.append(Problem(self.folder.filename(path), line, key or ROOT_PATH, message))

    def text(self, path: str, document: dict[str, Any], key: str, required: bool = True) -> str | None:
        """A text field of a document: a string (a number as its digits); a missing required one is an error."""
        value = document.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is not None and not isinstance(value, str):
            self.error(path, _line(document, key), key, f"expected text, found {value!r}")
        elif required:
            self.error(path, _line(document, key), key, f"missing the {document.get('type', 'object')}'s {key}")
        return None

    def number(self, path: str, document: dict[str, Any], key: str, default: int | None = None) -> int | None:
        value = document.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.error(path, _line(document, key), key, f"expected a whole number, found {value!r}")
        return None

    def index(self) -> None:
        """Every object by its GUID; two objects of a type with one id are an error."""
        for kind, items in self.typed.items():
            table: dict[str, tuple[str, dict[str, Any]]] = {}
            for path, document in items:
                guid = self.text(path, document, "id")
                if guid is None:
                    continue
                if guid in table:
                    self.error(
                        path,
                        _line(document, "id"),
                        "id",
                        f"id {guid} is also that of {self.folder.filename(table[guid][0])}",
                    )
                    continue
                table[guid] = (path, document)
            self.by_id[kind] = table

    def link(self, path: str, document: dict[str, Any], key: str, kind: str) -> tuple[str, dict[str, Any]] | None:
        """The object that `key` names by its GUID, or an error saying what it should name."""
        guid = self.text(path, document, key)
        if guid is None:
            return None
        target = self.by_id[kind].get(guid)
        if target is None:
            self.error(path, _line(document, key), key, f"no {kind} in the folder has id {guid}")
        return target

    def run(self) -> dict[str, Any]:
        for path, document in sorted(self.folder.documents.items()):
            if isinstance(document, Documents):
                self.error(path, 1, ROOT_PATH, "the file holds more than one document; SAMM keeps one object a file")
        self.index()
        for kind in ("Function", "MaturityLevel", "AnswerSet", "Activity"):
            if not self.typed[kind]:
                self.problems.append(
                    Problem(self.folder.name, 1, ROOT_PATH, f"expected the model's {kind} files; this folder has none")
                )
        if self.problems:
            raise ConversionError(list(dict.fromkeys(self.problems)))
        result = self.header()
        levels, level_of = self.levels()
        result["levels"] = levels
        result["scales"], scale_of = self.scales()
        result["defaults"] = {"evidence": "optional", "na_allowed": True}
        result["domains"] = self.domains(level_of, scale_of)
        if self.problems:
            raise ConversionError(list(dict.fromkeys(self.problems)))
        return result

    def header(self) -> dict[str, Any]:
        models = {}
        for path, document in self.typed["Function"]:
            model = self.text(path, document, "model", required=False)
            if model:
                models.setdefault(model, path)
        if len(models) != 1:
            path = self.typed["Function"][0][0]
            found = ", ".join(f"{m} ({p})" for m, p in models.items()) or "none"
            self.error(
                path, 1, "model", f"expected one `model` (name and version, e.g. SAMM20) in the functions: {found}"
            )
        version = next(iter(models), "")
        result: dict[str, Any] = {
            "format": 1,
            "id": FRAMEWORK_ID,
            "version": version,
            "title": TITLE,
            "kind": "maturity",
            "description": (
                "Converted from the SAMM model folder: each security practice is a domain, its streams the "
                "sections, each question a requirement at its activity's maturity level, answered on its "
                "answer set."
            ),
            "publisher": "OWASP SAMM project",
        }
        licence = self.licence()
        if licence:
            result["license"] = licence
        counts = ", ".join(f"{len(self.typed[k])} {k}" for k in TYPES)
        result["source"] = f"OWASP SAMM model {version} (a folder of {counts} files)"
        return result

    def licence(self) -> str | None:
        texts = self.folder.texts
        for path in sorted(texts, key=lambda p: (p.count("/"), p)):
            if path.rsplit("/", 1)[-1].lower() in LICENSE_FILES:
                return licence_name(texts[path])
        return None

    def levels(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The levels (the floor, then the maturity levels by number) and each practice level's number."""
        numbers: dict[str, int] = {}  # maturity level GUID -> number
        levels = []
        for guid, (path, document) in self.by_id["MaturityLevel"].items():
            number = self.number(path, document, "number")
            if number is None:
                continue
            if number < 1 or number in numbers.values():
                self.error(path, _line(document, "number"), "number", f"expected a new level number above 0: {number}")
                continue
            numbers[guid] = number
            level: dict[str, Any] = {"number": number, "name": f"Level {number}"}
            description = self.text(path, document, "description", required=False)
            if description:
                level["description"] = description
            levels.append(level)
        levels.sort(key=lambda item: item["number"])
        floor = {"number": 0, "name": "Level 0", "description": "The floor: no activity is needed."}
        level_of: dict[str, int] = {}
        for guid, (path, document) in self.by_id["PracticeLevel"].items():
            target = self.link(path, document, "maturityLevel", "MaturityLevel")
            if target is not None and _guid(target[1]["id"]) in numbers:
                level_of[guid] = numbers[str(_guid(target[1]["id"]))]
        return [floor, *levels], level_of

    def scales(self) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
        """A scale per answer set, and each set's scale id by its GUID."""
        scales: dict[str, list[dict[str, Any]]] = {}
        scale_of: dict[str, str] = {}
        for guid, (path, document) in self.by_id["AnswerSet"].items():
            stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            scale_id = "answers_" + re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
            if scale_id in scales:
                scale_id = f"{scale_id}_{len(scales) + 1}"
            values = document.get("values")
            if not isinstance(values, list) or not values:
                self.error(path, _line(document, "values"), "values", "expected a non-empty list of answers")
                continue
            options = []
            for index, answer in enumerate(values):
                key = f"values[{index}]"
                if not isinstance(answer, dict):
                    self.error(path, _line(values), key, "expected an answer (text, value, order)")
                    continue
                text = self.text(path, answer, "text")
                credit = answer.get("value")
                if not isinstance(credit, int | float) or isinstance(credit, bool) or not 0 <= credit <= 1:
                    self.error(
                        path, _line(answer, "value"), f"{key}.value", f"expected a number from 0 to 1, found {credit!r}"
                    )
                    continue
                order = answer.get("order", index)
                if text is not None:
                    options.append((order if isinstance(order, int | float) else index, text, credit))
            options.sort(key=lambda item: item[0])
            made: list[dict[str, Any]] = []
            for order, text, credit in options:
                value = option_value(text) or f"answer-{order}"
                if value == "na" or value in {o["value"] for o in made}:
                    value = f"{value}-{order}"
                made.append({"value": value, "label": text, "credit": credit})
            if made:
                scales[scale_id] = made
                scale_of[guid] = scale_id
        return scales, scale_of

    def domains(self, level_of: dict[str, int], scale_of: dict[str, str]) -> list[dict[str, Any]]:
        def order(path: str, document: dict[str, Any]) -> int:
            return self.number(path, document, "order", default=0) or 0

        practices = []
        for guid, (path, document) in self.by_id["Practice"].items():
            function = self.link(path, document, "function", "Function")
            if function is not None:
                practices.append((order(*function), order(path, document), path, guid, document, function))
        practices.sort(key=lambda item: item[:3])
        streams: dict[str, list[tuple[int, str, str, dict[str, Any]]]] = {}
        for guid, (path, document) in self.by_id["Stream"].items():
            practice = self.link(path, document, "practice", "Practice")
            if practice is not None:
                streams.setdefault(str(_guid(practice[1]["id"])), []).append(
                    (order(path, document), path, guid, document)
                )
        activities: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}  # stream GUID -> (level, path, activity)
        for path, document in self.by_id["Activity"].values():
            stream = self.link(path, document, "stream", "Stream")
            level = self.link(path, document, "level", "PracticeLevel")
            if stream is not None and level is not None and _guid(level[1]["id"]) in level_of:
                self.same_practice(path, document, stream[1], level[1])
                number = level_of[str(_guid(level[1]["id"]))]
                activities.setdefault(str(_guid(stream[1]["id"])), []).append((number, path, document))
        questions: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}  # activity GUID -> its questions
        for path, document in self.by_id["Question"].values():
            activity = self.link(path, document, "activity", "Activity")
            self.link(path, document, "answerSet", "AnswerSet")
            if activity is not None:
                questions.setdefault(str(_guid(activity[1]["id"])), []).append((order(path, document), path, document))
        objectives = {}
        for guid, (path, document) in self.by_id["PracticeLevel"].items():
            objective = self.text(path, document, "objective", required=False)
            if objective:
                objectives[guid] = objective
        seen: dict[str, str] = {}
        domains = []
        for _, _, path, guid, practice, (fpath, function) in practices:
            fname = self.text(fpath, function, "name") or "?"
            short = self.text(path, practice, "shortName") or "?"
            name = self.text(path, practice, "name") or short
            domain_id = f"{fname[:1].upper()}-{short}"
            self.claim(domain_id, path, _line(practice, "shortName"), seen, "domain")
            parts = [f"Business function: {fname}."]
            parts += [t for t in (self.text(path, practice, k, required=False) for k in ("longDescription",)) if t]
            requirements = []
            for _, spath, sguid, stream in sorted(streams.get(guid, []), key=lambda item: item[:2]):
                letter = self.text(spath, stream, "letter") or "?"
                section = f"Stream {letter}: {self.text(spath, stream, 'name') or letter}"
                for level, apath, activity in sorted(activities.get(sguid, []), key=lambda item: item[:2]):
                    asked = sorted(questions.get(str(_guid(activity["id"])), []), key=lambda item: item[:2])
                    if not asked:
                        self.error(
                            apath, _line(activity), ROOT_PATH, "no Question in the folder measures this activity"
                        )
                    base = f"{domain_id}-{letter}-{level}"
                    for qorder, qpath, question in asked:
                        rid = base if len(asked) == 1 else f"{base}.{qorder}"
                        self.claim(rid, qpath, _line(question, "activity"), seen, "requirement")
                        requirements.append(
                            self.requirement(
                                rid, section, level, apath, activity, qpath, question, scale_of, objectives
                            )
                        )
            if requirements:
                domains.append(
                    {"id": domain_id, "title": name, "description": "\n\n".join(parts), "requirements": requirements}
                )
        return domains

    def same_practice(self, path: str, activity: dict[str, Any], stream: dict[str, Any], level: dict[str, Any]) -> None:
        """An activity's stream and practice level must belong to one practice."""
        if _guid(stream.get("practice")) != _guid(level.get("practice")):
            message = (
                f"its stream is of practice {stream.get('practice')}, its level of practice {level.get('practice')}"
            )
            self.error(path, _line(activity, "level"), "level", message)

    def claim(self, value: str, path: str, line: int, seen: dict[str, str], what: str) -> None:
        """Take `value` as an id, or report that it is no valid id or is taken (naming the file that has it)."""
        if not _ID.match(value):
            self.error(path, line, ROOT_PATH, f"the {what} id {value!r} made from the model is not a valid id")
        elif value in seen:
            self.error(
                path,
                line,
                ROOT_PATH,
                f"the {what} id {value!r} made from the model is also that of {self.folder.filename(seen[value])}",
            )
        else:
            seen[value] = path

    def requirement(
        self,
        rid: str,
        section: str,
        level: int,
        apath: str,
        activity: dict[str, Any],
        qpath: str,
        question: dict[str, Any],
        scale_of: dict[str, str],
        objectives: dict[str, str],
    ) -> dict[str, Any]:
        title = self.text(apath, activity, "title") or rid
        requirement: dict[str, Any] = {"id": rid, "title": shorten(title), "section": section, "level": level}
        asked = self.text(qpath, question, "text")
        if asked:
            requirement["question"] = asked
        scale = scale_of.get(str(_guid(question.get("answerSet"))))
        if scale:
            requirement["answer"] = scale
        guidance = []
        quality = question.get("quality")
        if isinstance(quality, list):
            items = [f"- {q.strip()}" for q in quality if isinstance(q, str) and q.strip()]
            if items:
                guidance.append("Quality criteria:\n\n" + "\n".join(items))
        for key, label in (("shortDescription", None), ("longDescription", None), ("benefit", "Benefit")):
            value = self.text(apath, activity, key, required=False)
            if value:
                guidance.append(f"**{label}**: {value}" if label else value)
        objective = objectives.get(str(_guid(activity.get("level"))))
        if objective:
            guidance.append(f"**Objective at level {level}**: {objective}")
        if guidance:
            requirement["guidance"] = "\n\n".join(guidance)
        return requirement


def convert_model(document: Any, filename: str = "<folder>") -> dict[str, Any]:
    """The framework document (plain data, format 1) of a SAMM model folder, or a ConversionError."""
    if not is_model(document):
        raise ConversionError.at(filename, 1, ROOT_PATH, f"expected {EXPECTS}")
    return _Conversion(document).run()


CONVERTER = Converter(name="owasp-samm", expects=EXPECTS, detect=is_model, convert=convert_model, folder=True)
