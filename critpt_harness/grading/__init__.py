"""Local grading for problem sets that come with golden answers.

- ``compare``: value comparison (runs inside the sandbox), over ``values`` (the kinds of values);
- ``judge``: the sandbox-side judge process and the harness-side call that runs it;
  ``verdict``: one problem's verdict (in the judge's child process);
- ``local``: grade codes or a batch against a golden problem set;
- ``contract``: the CritPt evaluate endpoint's HTTP contract (shared with the tests' fake grader);
- ``web``: its Starlette app and the uvicorn server in a background thread;
- ``server``: ``critpt-harness serve-grader``, a local stand-in for that endpoint;
- ``config``: the ``grader`` config group.

Kept free of imports so the sandbox-side modules load fast.
"""
