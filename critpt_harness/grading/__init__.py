"""Local grading for problem sets that come with golden answers.

- ``compare``: value comparison (runs inside the sandbox);
- ``judge``: the sandbox-side judge and the harness-side call that runs it;
- ``local``: grade codes or a batch against a golden problem set;
- ``contract``: the CritPt evaluate endpoint's HTTP contract (shared with the fake grader);
- ``server``: ``critpt-harness serve-grader``, a local stand-in for that endpoint;
- ``config``: the ``grader`` config group.

Kept free of imports so the sandbox-side modules load fast.
"""
