"""The shipped results.json schema: it is package data, it accepts what results_document
writes, it rejects what departs from it, and every committed study result follows it."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hamgeo.experiments import REGISTRY
from hamgeo.experiments.findings import (
    SCHEMA_VERSION,
    Finding,
    Record,
    array_checksum,
    dataset_info,
    estimate,
    load_schema,
    provenance,
    render_findings_markdown,
    results_document,
    validate_results,
)

pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[1]
# studies whose committed results.json may still predate the schema (every other is validated)
PREDATE_SCHEMA = {"bnn-geometry", "hash-encoder"}


def _document():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    finding = Finding(
        "k",
        "claim",
        "Sec. 1",
        "stat",
        (estimate("trained", [1.0, 2.0, 3.0]), estimate("init", [0.0, 1.0], is_control=True)),
        "rule",
        "inconclusive",
    )
    return results_document(
        experiment="demo",
        config={"n_seeds": 3, "train": {"steps": 10}},
        overrides={"train.steps": 10},
        dataset=dataset_info(
            "grid",
            source="generated",
            checksum=array_checksum(x),
            n_train=3,
            n_test=None,
            generator="gaussian_grid",
            parameters={"shape": (3, 2)},
        ),
        seeds=[0, 1, 2],
        findings=[finding],
        summary=[Record("cells", {"layers": 3}, 1.0, 0.5, float("nan"), 3, (0, 1, 2))],
        converged=True,
        extra={"anything": [1, 2]},
    )


def test_schema_is_shipped_as_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"hamgeo.experiments" = ["results.schema.json"]' in pyproject
    schema = load_schema()
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema)


def test_results_document_validates_and_round_trips_json():
    doc = _document()
    validate_results(doc)
    back = json.loads(json.dumps(doc, allow_nan=False))
    validate_results(back)
    assert Finding.from_dict(back["findings"][0]).verdict == "inconclusive"
    assert list(doc) == list(load_schema()["required"])


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("status",), "incomplete", "status"),
        (("schema_version",), 0, "schema_version"),
        (("findings", 0, "verdict"), "reproduced", "findings/0/verdict"),
        (("dataset", "checksum"), "abc", "dataset/checksum"),
        (("summary", 0, "n"), -1, "summary/0/n"),
        (("provenance", "git_commit"), 3, "provenance/git_commit"),
        (("provenance", "usable_cpus"), 0, "provenance/usable_cpus"),
    ],
)
def test_schema_rejects_departures(path, value, where):
    doc = _document()
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    with pytest.raises(ValueError, match=where):
        validate_results(doc)


def test_schema_rejects_unknown_or_missing_top_level_keys():
    doc = _document()
    doc["verdicts"] = {}
    with pytest.raises(ValueError, match="verdicts"):
        validate_results(doc)
    doc = _document()
    del doc["dataset"]
    with pytest.raises(ValueError, match="dataset"):
        validate_results(doc)


def test_provenance_names_the_machine():
    p = provenance()
    assert p["cpu_model"] and p["devices"]
    assert p["git_commit"] is None or len(p["git_commit"]) == 40
    assert p["usable_cpus"] == len(os.sched_getaffinity(0))  # what this process may run on


def test_array_checksum_depends_on_content_shape_and_dtype():
    x = np.arange(6, dtype=np.int32)
    assert array_checksum(x) == array_checksum(x.copy())
    assert array_checksum(x) != array_checksum(x.reshape(2, 3))
    y = x.copy()
    y[3] += 1
    assert array_checksum(x) != array_checksum(y)
    assert array_checksum(x, y) != array_checksum(y, x)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_committed_results_follow_the_schema(name):
    path = ROOT / "docs" / "results" / name / "results.json"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `hamgeo reproduce {name} --out docs/results`")
    doc = json.loads(path.read_text())
    if doc.get("schema_version") is None and name in PREDATE_SCHEMA:
        pytest.xfail(f"{name}'s committed results.json predates the schema; regenerate it")
    validate_results(doc)


# --- the docs pages render their findings from the committed results.json -------------------

from hamgeo.experiments import render_docs  # noqa: E402


def test_render_docs_rewrites_only_the_block_and_check_catches_drift(tmp_path):
    name = "discriminability"
    doc = _document()
    res = render_docs.results_path(tmp_path, name)
    res.parent.mkdir(parents=True)
    res.write_text(json.dumps(doc))
    page = render_docs.page_path(tmp_path, name)
    page.parent.mkdir(parents=True)
    page.write_text(f"# Title\n\nprose\n\n{render_docs.BEGIN}\nstale\n{render_docs.END}\n\nmore\n")
    assert render_docs.check_pages(tmp_path, [name])  # stale block
    assert render_docs.main(["--root", str(tmp_path), name]) == 0
    text = page.read_text()
    assert text.startswith("# Title\n\nprose\n\n") and text.endswith("\n\nmore\n")
    assert "**inconclusive**" in text and "init (control)" in text
    assert render_docs.check_pages(tmp_path, [name]) == []
    assert render_docs.main(["--root", str(tmp_path), "--check", name]) == 0
    # a result that changes makes the page stale
    doc["findings"][0]["verdict"] = "supported"
    res.write_text(json.dumps(doc))
    assert any("differs" in p for p in render_docs.check_pages(tmp_path, [name]))
    # a verdict typed by hand outside the block is caught
    render_docs.main(["--root", str(tmp_path), name])
    page.write_text(page.read_text() + "\nDepth: reproduced.\n")
    (problem,) = render_docs.check_pages(tmp_path, [name])
    assert "'reproduced' outside" in problem


def test_render_docs_fills_tagged_blocks_from_their_own_results(tmp_path):
    # a second run of the same study (another data set) renders into its tagged block
    name = "discriminability"
    doc, other = _document(), _document()
    other["findings"][0]["verdict"] = "supported"
    for tag, d in ((None, doc), ("fashion-mnist", other)):
        res = render_docs.results_path(tmp_path, name, tag)
        res.parent.mkdir(parents=True)
        res.write_text(json.dumps(d))
    assert render_docs.results_path(tmp_path, name, "fashion-mnist").parent.name == (
        "discriminability-fashion-mnist"
    )
    page = render_docs.page_path(tmp_path, name)
    page.parent.mkdir(parents=True)
    tagged = "<!-- findings:begin fashion-mnist -->\nold\n<!-- findings:end fashion-mnist -->"
    page.write_text(f"# T\n\n{tagged}\n\nmid\n\n{render_docs.BEGIN}\nx\n{render_docs.END}\n")
    assert len(render_docs.check_pages(tmp_path, [name])) == 2  # both stale
    assert render_docs.main(["--root", str(tmp_path), name]) == 0
    assert render_docs.check_pages(tmp_path, [name]) == []
    text = page.read_text()
    first, second = text.split("\n\nmid\n\n")
    assert "**supported**" in first and "**supported**" not in second
    # each run's tables carry their own ids, so the two blocks' links do not collide
    assert 'id="finding-fashion-mnist-' in first and "(#finding-fashion-mnist-" in first
    assert 'id="finding-' in second and "fashion-mnist" not in second
    with pytest.raises(ValueError, match="anchor"):
        render_findings_markdown([], anchor="a b")
    # a tag that ends with another tag's marker, or a lone marker, is refused
    bad = tagged.replace("end fashion-mnist", "end mnist")
    with pytest.raises(ValueError, match="ends with the marker"):
        render_docs.blocks(f"{render_docs.BEGIN} {render_docs.END} {bad}")
    with pytest.raises(ValueError, match="without its pair"):
        render_docs.blocks(f"{render_docs.BEGIN} {render_docs.END} <!-- findings:end -->")


def test_render_docs_needs_the_markers(tmp_path):
    with pytest.raises(ValueError, match="findings:begin"):
        render_docs.update_page("no markers", "x")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_committed_pages_agree_with_their_results(name):
    doc = json.loads(render_docs.results_path(ROOT, name).read_text())
    if doc.get("schema_version") is None and name in PREDATE_SCHEMA:
        pytest.xfail(f"{name}'s committed results.json predates the schema; regenerate it")
    assert render_docs.check_pages(ROOT, [name]) == []
