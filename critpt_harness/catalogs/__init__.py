"""Typed clients for the public model catalogs, and snapshots of what they publish.

registry.py lists the APIs once; each has one module (artificial_analysis,
openrouter, llm_registry, aimodelsmap) whose client carries its endpoint table
(endpoints.py), snapshot files and the readers of its stored files, over the one
client in base.py (cache, limiter, retries through critpt_harness.retry).
snapshot.py writes a snapshot, matching.py finds the run's model, stored.py reads
a snapshot back and prices.py prices a model from one (for the budget and the
report). Their settings are in config/catalog.py.
Nothing is imported here.
"""
