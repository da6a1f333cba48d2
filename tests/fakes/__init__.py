"""Small real HTTP servers on 127.0.0.1 for tests, benchmarks and offline rehearsal,
each a Starlette app served by uvicorn in a background thread (the grading server's
stack, critpt_harness.grading.web):

- ``base``: the shared base (request log, injected faults, replies);
- ``llm``: an OpenAI-compatible LLM (Chat Completions, Responses); ``llm_replies`` builds its replies;
- ``grader``: the CritPt evaluate endpoint (the contract of critpt_harness.grading.contract);
- ``files``: a static file host (for the dataset and prompt downloads);
- ``catalogs``: the four catalog APIs;
- ``serve``: ``python -m tests.fakes.serve llm|grader`` runs one in the foreground.

    with FakeLLMServer(latency=0.5) as llm:
        llm.inject(Fault(429, headers={"Retry-After": "1"}), Fault.dropped())
        ... model.base_url = llm.url ...
"""
