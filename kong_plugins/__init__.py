"""Kong Gateway OSS 3.6 Python plugins for Amazon Bedrock.

Kept import-free on purpose: the plugin server must monkey-patch gevent before
any other module (ssl, urllib3, botocore) is imported.
"""
