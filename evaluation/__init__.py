"""The eval and predict jobs, built from inference, grading and reporting; and the frequency-cuts command."""
