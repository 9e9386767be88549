"""What `assessment pull` unpacks and what `assessment gate` judges, without a server."""

from __future__ import annotations

import io
import zipfile

import pytest

from assessment.cli_remote import latest_approved, safe_member, unpack


def _zip(members: dict[str, bytes], link: str | None = None) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = 0o120777 << 16  # a symbolic link, pointing anywhere
            archive.writestr(info, "/etc/passwd")
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize(
    "name", ["../evil", "evidence/../../evil", "/etc/passwd", "C:/x", "evidence\\..\\x", "", "evidence/\x00x"]
)
def test_a_member_that_could_land_elsewhere_is_refused(name):
    assert safe_member(name) is None


def test_the_export_files_unpack_under_the_folder(tmp_path):
    written = unpack(_zip({"answers.yaml": b"a", "evidence/0123/pipeline.yml": b"p"}), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == ["answers.yaml", "evidence/0123/pipeline.yml"]
    assert (tmp_path / "evidence/0123/pipeline.yml").read_bytes() == b"p"


@pytest.mark.parametrize(
    "members,link", [({"ok.yaml": b"x", "../evil": b"x"}, None), ({"ok.yaml": b"x"}, "evidence/l")]
)
def test_one_bad_member_stops_the_unpacking_before_anything_is_written(tmp_path, members, link):
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(SystemExit) as stopped:
        unpack(_zip(members, link), target)
    assert stopped.value.code == 2
    assert list(target.iterdir()) == [] and not (tmp_path / "evil").exists()


def test_the_gate_judges_the_assessment_approved_last():
    assessments = [
        {"id": 1, "status": "approved", "approved_at": "2026-01-05T10:00:00", "as_of": "2026-01-01"},
        {"id": 2, "status": "approved", "approved_at": "2026-06-05T10:00:00", "as_of": "2026-06-01"},
        {"id": 3, "status": "draft", "approved_at": None, "as_of": "2026-11-01"},
    ]
    assert latest_approved(assessments)["id"] == 2
    assert latest_approved([a for a in assessments if a["status"] == "draft"]) is None
