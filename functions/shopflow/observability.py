"""One structured JSON logger for the whole package (Powertools).

Log ids, topics and reasons; never raw bodies, emails or phone numbers.
"""

from aws_lambda_powertools import Logger

logger = Logger(service="shopflow")
