"""README starts with its two commands in at most 200 lines, links every docs page; no dead link, no long job."""
import glob
import os
import re

from tests import doc_pages

MAX_README_LINES = 200
FIRST_COMMANDS = ["bash scripts/setup.sh && bash scripts/finetune_inception_v3_on_diabetic.sh",
                  "bash scripts/setup.sh && .venv/bin/python -m pytest -q tests"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"^```.*?^```|`[^`\n]*`", re.S | re.M)
HEADING = re.compile(r"^#+ (.+)$", re.M)
# Fenced commands run in tests/test_readme_commands.py, so none may start a long job; the one fenced bench
# prepares DIR's few photographs in seconds.
LONG_JOBS = re.compile(r"scripts/(setup|finetune_|train_)|pytest|bench/(?!bench_real_photos\.py)")


def anchor(heading):
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_is_at_most_200_lines_and_starts_with_the_demo_and_the_test_suite():
    text = doc_pages.read(doc_pages.README)
    assert len(text.splitlines()) <= MAX_README_LINES
    first_fence = re.search(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    assert first_fence.group(1) == "bash"
    assert first_fence.group(2).splitlines() == FIRST_COMMANDS
    assert '.venv/bin/python -m pytest -q -m "not slow" tests' in text


def test_no_page_fences_a_long_job_after_readmes_first_block():
    fenced = [command for page in doc_pages.pages() for block in doc_pages.fenced_blocks(doc_pages.read(page))
              for command in block]
    assert fenced[:2] == FIRST_COMMANDS
    assert not [command for command in fenced[2:] if LONG_JOBS.search(command)]
    assert LONG_JOBS.search("python bench/bench_recipe.py --configs demo") and LONG_JOBS.search(FIRST_COMMANDS[1])


def test_readme_links_every_docs_page():
    on_disk = sorted(os.path.relpath(path, doc_pages.REPO_ROOT)
                     for path in glob.glob(os.path.join(doc_pages.REPO_ROOT, "docs", "*.md")))
    assert on_disk
    assert sorted(doc_pages.pages()[1:]) == on_disk


def test_every_relative_link_of_the_pages_leads_to_a_file_and_its_heading():
    dead = []
    for page in doc_pages.pages():
        for target in LINK.findall(CODE.sub("", doc_pages.read(page))):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, fragment = target.partition("#")
            linked = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(os.path.join(doc_pages.REPO_ROOT, linked)):
                dead.append(f"{page}: {target}")
            elif fragment and fragment not in map(anchor, HEADING.findall(doc_pages.read(linked))):
                dead.append(f"{page}: {target} (no such heading)")
    assert not dead
