"""Typed clients for the public model catalogs, and snapshots of what they publish.

One module per API (artificial_analysis, openrouter, llm_registry, aimodelsmap)
over a shared base (cache, limiter, retries through critpt_harness.http);
snapshot.py writes them into a run folder, matching.py finds the run's model.
Their settings are in config/catalog.py. Nothing is imported here.
"""
