"""The one judgement of a communication against the policy (docs/judgement.md).

``world`` what a judgement sees; ``conditions`` a rule's condition as SQL and as
Python (from ``policy.operators``); ``approval`` whether a platform is approved for
a communication; ``facts`` the rows the rules read; ``rules`` the rules in force;
``records`` the per-record path; ``verdicts`` what a finding stores; ``render`` its
sentence, for the reader.
"""
