"""From predictions to grades and figures, in numpy only: DR metrics, thresholds, eye fusion, class prior, intervals."""
