"""README.md and the docs/*.md pages it links: which pages, and the commands of their fenced shell blocks."""
import os
import re

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = "README.md"
DOCS_LINK = re.compile(r"\]\((docs/[\w.-]+\.md)[)#]")
FENCE = re.compile(r"^```(?:bash|sh|shell)\n(.*?)^```", re.S | re.M)


def read(page):
    """The text of `page`, a path relative to the repository."""
    with open(os.path.join(REPO_ROOT, page), encoding="utf-8") as handle:
        return handle.read()


def pages():
    """README.md, then the docs pages in the order README first links them: [path relative to the repository]."""
    linked = DOCS_LINK.findall(read(README))
    return [README] + sorted(set(linked), key=linked.index)


def fenced_blocks(text):
    """Returns the commands of each fenced shell block of `text`: [[command, ...], ...].

    A line ending in `\\` continues on the next; comment lines are skipped.
    """
    blocks = []
    for body in FENCE.findall(text):
        commands, pending = [], ""
        for line in body.splitlines():
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            command = (pending + line).strip()
            pending = ""
            if command and not command.startswith("#"):
                commands.append(command)
        blocks.append(commands)
    return blocks
