"""Generic helpers shared by every stage: atomic output files and progress lines."""
