"""Regenerate the shipped botocore data from the installed botocore: python -m shopflow.botocore_data"""

from shopflow.botocore_data import DATA_DIR, write

write()
print(f"wrote {DATA_DIR}")
