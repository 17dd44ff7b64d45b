"""Renders a confusion matrix as a text table for the log and as a PNG for eval_dir and TensorBoard.

Cells show counts; their shade is the count's share of its row (the true grade), so a
rare grade's errors stand out as much as a common one's. Pillow only, no matplotlib.
"""
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CELL = 56
MARGIN = 72
FONT_SIZE = 14
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)
# Row share 0 is white, 1 is this blue; text turns white on dark cells.
FULL_SHADE = np.array((8, 48, 107))


def format_confusion_table(matrix, class_names):
    """Returns the matrix as aligned text: one row per true grade, one column per predicted grade."""
    width = max(len("true\\pred"), *(len(str(value)) for value in np.asarray(matrix).ravel()),
                *(len(name) for name in class_names)) + 2
    lines = ["true\\pred".ljust(width) + "".join(name.rjust(width) for name in class_names)]
    for name, row in zip(class_names, matrix):
        lines.append(name.ljust(width) + "".join(str(count).rjust(width) for count in row))
    return "\n".join(lines)


def _row_shares(matrix):
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def _centred_text(draw, centre, text, font, fill):
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((centre[0] - (right - left) / 2 - left, centre[1] - (bottom - top) / 2 - top), text,
              font=font, fill=fill)


def render_confusion_matrix(matrix, class_names, label_noun="grade"):
    """Returns an RGB PIL image of the matrix with grade names and axis titles.

    Args:
      matrix: [N, N] counts, rows = true grade, columns = predicted grade.
      class_names: N names for the rows and columns.
      label_noun: the axis titles' word for a label ("true grade", "predicted grade").
    """
    matrix = np.asarray(matrix)
    size = len(class_names)
    font = ImageFont.load_default(size=FONT_SIZE)
    image = Image.new("RGB", (MARGIN + size * CELL + 8, MARGIN + size * CELL + 8), BACKGROUND)
    draw = ImageDraw.Draw(image)
    shares = _row_shares(matrix)
    for row in range(size):
        for column in range(size):
            share = shares[row, column]
            shade = tuple(int(v) for v in np.round(255 - share * (255 - FULL_SHADE)))
            box = (MARGIN + column * CELL, MARGIN + row * CELL, MARGIN + (column + 1) * CELL, MARGIN + (row + 1) * CELL)
            draw.rectangle(box, fill=shade, outline=(160, 160, 160))
            _centred_text(draw, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), str(matrix[row, column]), font,
                          BACKGROUND if share > 0.5 else INK)
    for index, name in enumerate(class_names):
        centre = MARGIN + index * CELL + CELL / 2
        _centred_text(draw, (centre, MARGIN - 14), name, font, INK)
        _centred_text(draw, (MARGIN - 24, centre), name, font, INK)
    _centred_text(draw, (MARGIN + size * CELL / 2, 18), f"predicted {label_noun}", font, INK)
    title = Image.new("RGB", (size * CELL, 24), BACKGROUND)
    _centred_text(ImageDraw.Draw(title), (size * CELL / 2, 12), f"true {label_noun}", font, INK)
    image.paste(title.rotate(90, expand=True), (6, MARGIN))
    return image


def encode_png(image):
    """Returns the PNG bytes of a PIL image."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
