"""A self-contained HTML page: headings, paragraphs, tables and PNG pictures inlined as base64 (no other file)."""
import base64
import html

from reporting import confusion_image

STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:4px 8px;text-align:left}"
         "th{background:#eef}figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}"
         "figcaption{font-size:90%;max-width:440px}.note{color:#a40}")


def text(words, css_class=None):
    """A paragraph of escaped `words`."""
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{html.escape(words)}</p>"


def heading(words, level=2):
    return f"<h{level}>{html.escape(words)}</h{level}>"


def table(header, rows):
    """A table with one header row; cells are escaped text."""
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def figure(picture, caption):
    """A PIL picture inlined as a base64 PNG, with its caption (also its alt text)."""
    data = base64.b64encode(confusion_image.encode_png(picture)).decode("ascii")
    words = html.escape(caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{words}" width="{picture.width}" '
            f'height="{picture.height}"><figcaption>{words}</figcaption></figure>')


def page(title, parts):
    """The whole HTML document: `title` as its title and first heading, then the `parts` in order."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{heading(title, 1)}\n" + "\n".join(parts) + "\n</body></html>\n")
