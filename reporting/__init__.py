"""What an evaluation shows: summary lines and TensorBoard, pictures, the screening-trial report, CSV files."""
