"""Framework files (format 1) -> `Framework`, or every problem of the file at once.

The shape of the format is declared once below (`FRAMEWORK`); it drives both the checks and
the published JSON Schema. Rules a schema cannot say (unique ids, defined levels, known
scales) are checked afterwards, with the same line numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .delivery.metrics import METRICS, UNITS
from .errors import InvalidFile, Problem
from .framework import (
    BUILTIN_SCALES,
    FORMAT_VERSION,
    AnswerSpec,
    Band,
    Domain,
    Framework,
    Level,
    NumericAnswer,
    Requirement,
    Scale,
    ScaleOption,
)
from .schema import (
    INVALID,
    Bool,
    Context,
    Date,  # noqa: F401  (re-exported for the answers reader)
    Enum,
    Field,
    Int,
    ListOf,
    MapOf,
    Number,
    Obj,
    OneOf,
    Str,
    join,
)
from .yamlread import YamlList, YamlMap, parse_yaml, read_text

FRAMEWORK_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"
ITEM_ID = r"^[A-Za-z0-9][A-Za-z0-9._:()-]{0,63}$"
SCALE_ID = r"^[a-z][a-z0-9_]*$"
OPTION_VALUE = r"^[a-z0-9][a-z0-9_-]*$"
DEFAULT_SCALE = "yes_partial_no"

CREDIT = Number(minimum=0, maximum=1, description="Credit earned, from 0 to 1.")
WEIGHT = Number(exclusive_minimum=0, description="Relative weight, greater than 0.")
TEXT = Str()
MARKDOWN = Str(description="Markdown text.")

NUMERIC_ANSWER = Obj(
    {
        "type": Field(Enum(("number",)), required=True),
        "unit": Field(Str(description="Unit shown next to the number, e.g. hours.")),
        "metric": Field(
            Enum(METRICS, description="A delivery metric whose value can fill the answer (delivery-events.md, 5).")
        ),
        "bands": Field(
            ListOf(
                Obj(
                    {
                        "min": Field(Number(description="Inclusive lower bound; none when absent.")),
                        "max": Field(Number(description="Inclusive upper bound; none when absent.")),
                        "credit": Field(CREDIT, required=True),
                    }
                ),
                min_items=1,
                description="The first band whose range holds the value gives its credit.",
            ),
            required=True,
        ),
    },
    description="A numeric question scored by bands.",
)
ANSWER = OneOf(
    Str(SCALE_ID, hint="scale id", description="A scale id: yes_no, yes_partial_no or one of `scales`."),
    NUMERIC_ANSWER,
    what="a scale id or a numeric answer {type: number, bands: [...]}",
)
EVIDENCE = Enum(("required", "optional", "none"), description="Whether a claim needs current evidence.")

REQUIREMENT = Obj(
    {
        "id": Field(Str(ITEM_ID, hint="requirement id"), required=True),
        "title": Field(TEXT, required=True),
        "question": Field(Str(description="What the questionnaire asks; default the title.")),
        "section": Field(Str(description="A display group inside the domain.")),
        "level": Field(Int(minimum=0, description="Maturity only: the level this practice belongs to.")),
        "weight": Field(WEIGHT),
        "answer": Field(ANSWER),
        "na_allowed": Field(Bool(description="Whether `na` may be answered.")),
        "evidence": Field(EVIDENCE),
        "guidance": Field(Str(description="Markdown: how to assess it, what evidence looks like.")),
        "recommendation": Field(Str(description="Markdown: the improvement action when it is a gap.")),
        "tags": Field(ListOf(Str(), description="Mappings and labels, e.g. sox:ITGC-CM-02.")),
    }
)
DOMAIN = Obj(
    {
        "id": Field(Str(ITEM_ID, hint="domain id"), required=True),
        "title": Field(TEXT, required=True),
        "description": Field(MARKDOWN),
        "weight": Field(WEIGHT),
        "requirements": Field(ListOf(REQUIREMENT, min_items=1), required=True),
    }
)
LEVEL = Obj(
    {
        "number": Field(Int(minimum=0), required=True),
        "name": Field(TEXT, required=True),
        "description": Field(MARKDOWN),
    }
)
SCALE_OPTION = Obj(
    {
        "value": Field(Str(OPTION_VALUE, hint="option value", reserved=("na",)), required=True),
        "label": Field(TEXT, required=True),
        "credit": Field(CREDIT, required=True),
    }
)
FRAMEWORK = Obj(
    {
        "format": Field(Int(allowed=(FORMAT_VERSION,), description="This format's number.")),
        "id": Field(Str(FRAMEWORK_ID, hint="framework id", description="Stable identifier."), required=True),
        "version": Field(Str(description="The framework's own version, a string."), required=True),
        "title": Field(TEXT, required=True),
        "kind": Field(Enum(("maturity", "compliance")), required=True),
        "description": Field(MARKDOWN),
        "publisher": Field(TEXT),
        "license": Field(TEXT),
        "source": Field(TEXT),
        "levels": Field(ListOf(LEVEL, min_items=2, description="Ordered maturity levels; the first is the floor.")),
        "scales": Field(
            MapOf(
                Str(SCALE_ID, hint="scale id", reserved=tuple(BUILTIN_SCALES)),
                ListOf(SCALE_OPTION, min_items=1),
            )
        ),
        "defaults": Field(
            Obj(
                {
                    "answer": Field(ANSWER),
                    "evidence": Field(EVIDENCE),
                    "weight": Field(WEIGHT),
                    "na_allowed": Field(Bool()),
                }
            )
        ),
        "met_threshold": Field(
            Number(exclusive_minimum=0, maximum=1, description="Credit at which a requirement counts as met.")
        ),
        "domains": Field(ListOf(DOMAIN, min_items=1), required=True),
    },
    title="Assessment framework, format 1",
)


def load_framework_file(path: Path | str, display: str | None = None) -> Framework:
    """Read and validate one framework file."""
    path = Path(path)
    name = display or str(path)
    return load_framework_text(read_text(path, name), name)


def load_framework_text(text: str, filename: str = "<text>") -> Framework:
    """Validate framework YAML text and build the `Framework`, or raise InvalidFile."""
    data = parse_yaml(text, filename)
    if isinstance(data, YamlMap) and "answers" in data and "framework" in data and "domains" not in data:
        raise InvalidFile(
            [
                Problem(
                    filename,
                    data.line,
                    "",
                    "this is an answers file, not a framework file; score it with `assessment score FRAMEWORK ANSWERS`",
                )
            ]
        )
    ctx = Context(filename)
    checked = FRAMEWORK.check(data, "", 1, ctx)
    if checked is INVALID:
        raise InvalidFile(ctx.problems)
    _Semantics(ctx, checked).run()
    if ctx.problems:
        raise InvalidFile(ctx.problems)
    return _build(checked)


class _Semantics:
    """The rules of the format that a schema cannot express."""

    def __init__(self, ctx: Context, doc: YamlMap):
        self.ctx = ctx
        self.doc = doc
        self.maturity = doc.get("kind") == "maturity"
        self.compliance = doc.get("kind") == "compliance"
        self.level_numbers: list[int] = []
        scales = doc.get("scales")
        self.scale_ids = set(BUILTIN_SCALES) | (set(scales) if isinstance(scales, YamlMap) else set())

    def run(self) -> None:
        self._levels()
        self._scales()
        defaults = self.doc.get("defaults")
        if isinstance(defaults, YamlMap) and "answer" in defaults:
            self._answer(defaults["answer"], "defaults.answer", defaults.line_of("answer"))
        domains = self.doc.get("domains")
        if isinstance(domains, YamlList):
            self._domains(domains)

    def _levels(self) -> None:
        doc, ctx = self.doc, self.ctx
        levels = doc.get("levels")
        if self.maturity and "levels" not in doc:
            ctx.error(doc.line, "levels", "missing required key: a maturity framework defines at least 2 levels")
        if self.compliance and "levels" in doc:
            ctx.error(
                doc.line_of("levels"),
                "levels",
                "a compliance framework has no levels; remove them or use kind: maturity",
            )
        if not isinstance(levels, YamlList):
            return
        previous = None
        for index, level in enumerate(levels):
            if not isinstance(level, YamlMap) or not isinstance(level.get("number"), int):
                continue
            number = level["number"]
            if previous is not None and number <= previous:
                ctx.error(
                    level.line_of("number"),
                    join(join("levels", index), "number"),
                    f"level numbers must strictly increase down the list: {number} follows {previous}",
                )
            else:
                self.level_numbers.append(number)
            previous = number if previous is None else max(previous, number)

    def _scales(self) -> None:
        scales = self.doc.get("scales")
        if not isinstance(scales, YamlMap):
            return
        for scale_id, options in scales.items():
            if not isinstance(options, YamlList):
                continue
            seen: dict[str, int] = {}
            for index, option in enumerate(options):
                if not isinstance(option, YamlMap) or not isinstance(option.get("value"), str):
                    continue
                value = option["value"]
                path = join(join(join("scales", scale_id), index), "value")
                if value in seen:
                    self.ctx.error(
                        option.line_of("value"),
                        path,
                        f"duplicate value {value!r} in scale {scale_id!r} (first on line {seen[value]})",
                    )
                else:
                    seen[value] = option.line_of("value")

    def _answer(self, answer: Any, path: str, line: int) -> None:
        if isinstance(answer, str) and answer not in self.scale_ids:
            known = ", ".join(sorted(self.scale_ids))
            self.ctx.error(line, path, f"unknown scale {answer!r}; known scales: {known}")
        elif isinstance(answer, YamlMap) and isinstance(answer.get("bands"), YamlList):
            self._metric_unit(answer, path)
            for index, band in enumerate(answer["bands"]):
                if not isinstance(band, YamlMap):
                    continue
                low, high = band.get("min"), band.get("max")
                if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
                    self.ctx.error(band.line, join(join(path, "bands"), index), f"min {low} is greater than max {high}")

    def _metric_unit(self, answer: YamlMap, path: str) -> None:
        """A numeric answer fed by a metric states the metric's own unit, or none (delivery-events.md, 5)."""
        metric, unit = answer.get("metric"), answer.get("unit")
        if metric in UNITS and isinstance(unit, str) and unit != UNITS[metric]:
            self.ctx.error(
                answer.line_of("unit"), join(path, "unit"),
                f"unit {unit!r} is not the unit of metric {metric!r}; expected {UNITS[metric]!r} or no unit",
            )  # fmt: skip

    def _domains(self, domains: YamlList) -> None:
        ctx = self.ctx
        domain_ids: dict[str, int] = {}
        requirement_ids: dict[str, tuple[str, int]] = {}
        floor = self.level_numbers[0] if self.level_numbers else None
        defined = set(self.level_numbers)
        for d_index, domain in enumerate(domains):
            if not isinstance(domain, YamlMap):
                continue
            d_path = join("domains", d_index)
            d_id = domain.get("id")
            if isinstance(d_id, str):
                if d_id in domain_ids:
                    ctx.error(
                        domain.line_of("id"),
                        join(d_path, "id"),
                        f"duplicate domain id {d_id!r} (first on line {domain_ids[d_id]})",
                    )
                else:
                    domain_ids[d_id] = domain.line_of("id")
            requirements = domain.get("requirements")
            if not isinstance(requirements, YamlList):
                continue
            for r_index, req in enumerate(requirements):
                if not isinstance(req, YamlMap):
                    continue
                r_path = join(join(d_path, "requirements"), r_index)
                r_id = req.get("id")
                if isinstance(r_id, str):
                    if r_id in requirement_ids:
                        first_path, first_line = requirement_ids[r_id]
                        ctx.error(
                            req.line_of("id"),
                            join(r_path, "id"),
                            f"duplicate requirement id {r_id!r} (first at {first_path}, line {first_line})",
                        )
                    else:
                        requirement_ids[r_id] = (r_path, req.line_of("id"))
                if "answer" in req:
                    self._answer(req["answer"], join(r_path, "answer"), req.line_of("answer"))
                self._requirement_level(req, r_path, floor, defined)

    def _requirement_level(self, req: YamlMap, path: str, floor: int | None, defined: set[int]) -> None:
        ctx, level_path = self.ctx, join(path, "level")
        if self.compliance and "level" in req:
            ctx.error(req.line_of("level"), level_path, "a compliance framework has no levels; remove 'level'")
        elif self.maturity and "level" not in req:
            ctx.error(
                req.line, level_path, "missing required key: every requirement of a maturity framework has a level"
            )
        level = req.get("level")
        if not self.maturity or not isinstance(level, int) or not defined:
            return
        if level not in defined:
            listed = ", ".join(str(n) for n in self.level_numbers)
            ctx.error(req.line_of("level"), level_path, f"level {level} is not defined; defined levels: {listed}")
        elif level == floor:
            ctx.error(
                req.line_of("level"),
                level_path,
                f"level {level} is the floor, which needs nothing; use a level above it",
            )


def _answer_spec(raw: Any, scales: dict[str, Scale]) -> AnswerSpec:
    if isinstance(raw, str):
        return scales[raw]
    bands = tuple(Band(credit=float(b["credit"]), min=b.get("min"), max=b.get("max")) for b in raw["bands"])
    return NumericAnswer(bands=bands, unit=raw.get("unit"), metric=raw.get("metric"))


def _build(doc: YamlMap) -> Framework:
    custom = {
        scale_id: Scale(scale_id, tuple(ScaleOption(o["value"], o["label"], float(o["credit"])) for o in options))
        for scale_id, options in (doc.get("scales") or {}).items()
    }
    scales = {**BUILTIN_SCALES, **custom}
    defaults = doc.get("defaults") or {}
    default_answer = _answer_spec(defaults.get("answer", DEFAULT_SCALE), scales)
    default_weight = float(defaults.get("weight", 1))
    default_na = defaults.get("na_allowed", True)
    default_evidence = defaults.get("evidence", "optional")
    answer_cache: dict[str, AnswerSpec] = {}

    def answer_of(raw: Any) -> AnswerSpec:
        if raw is None:
            return default_answer
        if isinstance(raw, str):
            return answer_cache.setdefault(raw, scales[raw])
        return _answer_spec(raw, scales)

    domains = []
    for d in doc["domains"]:
        requirements = tuple(
            Requirement(
                id=r["id"],
                title=r["title"],
                domain_id=d["id"],
                answer=answer_of(r.get("answer")),
                question=r.get("question") or r["title"],
                weight=float(r.get("weight", default_weight)),
                na_allowed=r.get("na_allowed", default_na),
                evidence=r.get("evidence", default_evidence),
                level=r.get("level"),
                section=r.get("section"),
                guidance=r.get("guidance"),
                recommendation=r.get("recommendation"),
                tags=tuple(r.get("tags") or ()),
            )
            for r in d["requirements"]
        )
        domains.append(Domain(d["id"], d["title"], requirements, float(d.get("weight", 1)), d.get("description")))
    levels = tuple(Level(lv["number"], lv["name"], lv.get("description")) for lv in doc.get("levels") or ())
    return Framework(
        id=doc["id"],
        version=doc["version"],
        title=doc["title"],
        kind=doc["kind"],
        domains=tuple(domains),
        levels=levels,
        scales=custom,
        met_threshold=float(doc.get("met_threshold", 1)),
        format=doc.get("format", FORMAT_VERSION),
        description=doc.get("description"),
        publisher=doc.get("publisher"),
        license=doc.get("license"),
        source=doc.get("source"),
    )


def framework_paths(path: Path) -> list[Path]:
    """The framework files a path names: the file itself, or each *.yaml / *.yml in a directory."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_library(directory: Path) -> tuple[list[Framework], list[Problem]]:
    """Every framework of a directory, and the problems of the files that are invalid."""
    frameworks: list[Framework] = []
    problems: list[Problem] = []
    for path in framework_paths(directory):
        try:
            frameworks.append(load_framework_file(path))
        except InvalidFile as exc:
            problems.extend(exc.problems)
    return frameworks, problems


# The schema's identifier: a name, not an address (nothing is fetched from it).
SCHEMA_ID = "urn:assessment:schema:framework:1"


def framework_json_schema() -> dict[str, Any]:
    """The JSON Schema of format 1, generated from the same declaration the loader checks with."""
    schema = FRAMEWORK.json_schema()

    # Each `required` names its properties beside it (as `true`, the real schemas are above), and each
    # applicator says it applies to objects or arrays: ajv's strict mode asks both of a schema.
    def requires(name: str) -> dict[str, Any]:
        return {"type": "object", "properties": {name: True}, "required": [name]}

    def each_requirement(rule: dict[str, Any]) -> dict[str, Any]:
        requirements = {"type": "array", "items": rule}
        domain = {"type": "object", "properties": {"requirements": requirements}}
        return {"type": "array", "items": domain}

    schema["allOf"] = [
        {
            "if": {"type": "object", "properties": {"kind": {"const": "maturity"}}, "required": ["kind"]},
            "then": {
                **requires("levels"),
                "properties": {"levels": True, "domains": each_requirement(requires("level"))},
            },
        },
        {
            "if": {"type": "object", "properties": {"kind": {"const": "compliance"}}, "required": ["kind"]},
            "then": {
                "type": "object",
                "not": requires("levels"),
                "properties": {"domains": each_requirement({"not": requires("level")})},
            },
        },
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": (
            "Framework file, format 1 (see the spec's framework-format.md). Rules this schema cannot express "
            "(unique ids, defined levels, known scales, increasing level numbers) are checked by "
            "`assessment validate`."
        ),
    }
