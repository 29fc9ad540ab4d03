"""README.md and docs/ as a user meets them: every code block runs or says why not, every link resolves, the README
stays a short front door, and no page names a path that exists only on the developers' machines."""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUNNABLE = {"python", "bash", "sh", "shell", "console"}
NOT_RUN = re.compile(r"<!-- not run: (.*?) -->")
RUN_BY = re.compile(r"<!-- run by (tests/\S+\.py)\b.*-->")
# shell text that cannot run as written (a placeholder, an optional part, a folder a long run writes); a block
# holding it needs a "not run" mark
PLACEHOLDERS = ("path/to/", " ... ", "[--", "runs/", "outputs/genebert-tiny/final")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    mark: str  # the line above the fence

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    """Fenced blocks of a Markdown page, with the line just above each (where a mark goes)."""
    lines = page.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r"^```(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"{page.relative_to(ROOT)}:{i + 1}: code block never closed"
        blocks.append(Block(page, i + 1, fence.group(1).lower(), "\n".join(lines[i + 1:end]) + "\n",
                            lines[i - 1] if i else ""))
        i = end + 1
    return blocks


def runnable_blocks(page: Path) -> list[Block]:
    """The python / shell blocks this module runs: neither marked 'not run' nor run by another test."""
    return [b for b in code_blocks(page) if b.lang in RUNNABLE and not NOT_RUN.search(b.mark) and not RUN_BY.search(b.mark)]


def heading_anchors(page: Path) -> set[str]:
    """GitHub's anchors: lower case, punctuation dropped (hyphens and underscores kept), spaces -> hyphens."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_is_a_short_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_paths_or_internal_issue_numbers(page):
    text = page.read_text()
    for line_number, line in enumerate(text.splitlines(), 1):
        assert "../shared" not in line and "shared/data" not in line, f"{page.name}:{line_number}: {line}"
        assert not re.search(r"\bissues?[ -]#?\d+", line, re.I), f"{page.name}:{line_number}: {line}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files_and_headings(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets or page.name != "README.md"
    for target in targets:
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.relative_to(ROOT)}: link to {target}: no such file"
        if anchor and resolved.suffix == ".md":
            assert anchor in heading_anchors(resolved), f"{page.relative_to(ROOT)}: link to {target}: no such heading"


def test_every_code_block_is_run_or_says_why_not():
    """Unmarked blocks are run by test_page_blocks_run; a block that cannot run as written must be marked."""
    checked = 0
    for page in PAGES:
        for block in code_blocks(page):
            if block.lang not in RUNNABLE:
                continue
            checked += 1
            not_run, run_by = NOT_RUN.search(block.mark), RUN_BY.search(block.mark)
            if not_run:
                assert len(not_run.group(1).split()) >= 2, f"{block.where}: 'not run' needs a reason"
            elif run_by:
                runner = ROOT / run_by.group(1)
                assert runner.exists(), f"{block.where}: {run_by.group(1)} does not exist"
                assert str(page.relative_to(ROOT)) in runner.read_text(), f"{block.where}: {runner.name} does not read the page"
            elif block.lang != "python":
                held = [p for p in PLACEHOLDERS if p in block.code]
                assert not held, f"{block.where}: holds {held}, so it cannot run as written: mark it <!-- not run: why -->"
    assert checked >= 20


def test_ci_runs_exactly_the_readme_test_command():
    lines = (ROOT / "README.md").read_text().splitlines()
    heading = next(number for number, line in enumerate(lines, 1) if line.startswith("Run the tests"))
    command = next(b for b in code_blocks(ROOT / "README.md") if b.line > heading).code
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert command.strip() == "python -m pytest -x -q tests" == ci[-1].strip()


def test_block_parser_sees_marks_and_placeholders(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("intro\n<!-- not run: needs a GPU -->\n```bash\ntrain\n```\n\n```python\nprint(1)\n```\n```\nplain\n```\n")
    blocks = code_blocks(page)
    assert [(b.line, b.lang, b.code) for b in blocks] == [(3, "bash", "train\n"), (7, "python", "print(1)\n"), (10, "", "plain\n")]
    assert [b.line for b in runnable_blocks(page)] == [7]
    assert heading_anchors(ROOT / "docs" / "benchmarks.md") >= {"the-papers-analyses-genebert-analysis", "benchmark-scripts"}


def _user_checkout(tmp_path: Path) -> Path:
    """A folder laid out as the repository root, so blocks find tests/data, benchmarks/, checkpoints/ and examples/ as a
    user does."""
    shutil.copytree(ROOT / "tests" / "data", tmp_path / "tests" / "data")  # copies: pyfaidx indexes beside a FASTA
    for folder in ("benchmarks", "checkpoints", "examples"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    return tmp_path


PAGES_WITH_RUNNABLE_BLOCKS = [p for p in PAGES if runnable_blocks(p)]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES_WITH_RUNNABLE_BLOCKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_blocks_run(page, tmp_path):
    """Each page's unmarked blocks, in order, in one folder (a later block uses what an earlier one wrote)."""
    work = _user_checkout(tmp_path)
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "GENEBERT_CACHE": str(tmp_path / "cache")}
    for block in runnable_blocks(page):
        command = [sys.executable, "-c", block.code] if block.lang == "python" else ["bash", "-euo", "pipefail", "-c", block.code]
        result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{block.where} failed:\n{block.code}\n{result.stderr[-3000:]}"
