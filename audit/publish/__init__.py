"""Publishing: a release only of tables that pass the audit publish runs itself.

``release`` writes the release (``publish``); ``gate`` decides whether the tables may be released;
``config`` reads release.json; ``croissant`` and ``intoto`` describe the release (Croissant 1.0, an in-toto
Statement); ``diff`` says what changed since the previous release.
"""
