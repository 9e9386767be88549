"""WTForms forms. The questionnaire form is built from the framework's requirements: its field
names are requirement ids (`CI-01`), with `note/CI-01` and `rev/CI-01` beside them, which no
requirement id can collide with because ids never contain '/'.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, Optional

from .domain.answers import NA
from .domain.framework import Domain, NumericAnswer, Requirement
from .models import ROLES, SCOPE_KINDS
from .services.accounts import ROLE_LABELS


class ScopeForm(FlaskForm):
    """A new scope."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    kind = SelectField("Kind", choices=[(k, k.title()) for k in SCOPE_KINDS])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])


class StartAssessmentForm(FlaskForm):
    """Start an assessment of a scope."""

    framework_version = SelectField("Framework", coerce=int)
    target_level = IntegerField("Target level", validators=[Optional()])
    as_of = DateField("As of", validators=[Optional()])
    period_start = DateField("Period start", validators=[Optional()])


class EvidenceForm(FlaskForm):
    """Add a file or a link as evidence of one requirement."""

    title = StringField("Title", validators=[Optional(), Length(max=500)])
    file = FileField("File")
    url = URLField("or link", validators=[Optional(), Length(max=2000)])
    effective = DateField("Effective", validators=[Optional()])
    expires = DateField("Expires", validators=[Optional()])


class ActionForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change something."""


def value_field_name(requirement: Requirement) -> str:
    """The form field of a requirement's value."""
    return requirement.id


def note_field_name(requirement: Requirement) -> str:
    """The form field of a requirement's note."""
    return f"note/{requirement.id}"


def revision_field_name(requirement: Requirement) -> str:
    """The hidden field carrying the revision of the answer the person saw."""
    return f"rev/{requirement.id}"


def value_field_id(requirement: Requirement) -> str:
    """The HTML id of a requirement's answer control (what an error summary links to)."""
    return f"answer-{requirement.id}"


def note_field_id(requirement: Requirement) -> str:
    """The HTML id of a requirement's note box."""
    return f"note-{requirement.id}"


def value_choices(requirement: Requirement) -> list[tuple[str, str]]:
    """The options of a scale answer, with not applicable when allowed."""
    if isinstance(requirement.answer, NumericAnswer):
        return []
    choices = [(option.value, option.label) for option in requirement.answer.options]
    if requirement.na_allowed:
        choices.append((NA, "Not applicable"))
    return choices


def questionnaire_form_class(domain: Domain) -> type[FlaskForm]:
    """A form class for one domain's page of the questionnaire, one group of fields per requirement."""
    attrs: dict[str, object] = {}
    for requirement in domain.requirements:
        if isinstance(requirement.answer, NumericAnswer):
            value = StringField(requirement.question, validators=[Optional(), Length(max=40)])
        else:
            value = RadioField(requirement.question, choices=value_choices(requirement), validate_choice=False)
        attrs[value_field_name(requirement)] = value
        attrs[note_field_name(requirement)] = TextAreaField("Note", validators=[Optional(), Length(max=20_000)])
        attrs[revision_field_name(requirement)] = HiddenField()
    return type(f"Questionnaire_{abs(hash(domain.id))}", (FlaskForm,), attrs)


class SignInForm(FlaskForm):
    """Sign in with a user name and password."""

    username = StringField("User name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class UserForm(FlaskForm):
    """A new account (admins only)."""

    username = StringField("User name", validators=[DataRequired(), Length(max=64)])
    display_name = StringField("Full name", validators=[Optional(), Length(max=200)])
    # the least privileged role a new account can have, so a hurried Add user grants no more than a team's rights
    role = SelectField("Role", choices=[(r, ROLE_LABELS[r]) for r in ROLES], default="member")
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
