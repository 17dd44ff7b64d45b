"""DICOM to PNG: read and validate files, dump headers, count tag values, export display-ready pixels."""
