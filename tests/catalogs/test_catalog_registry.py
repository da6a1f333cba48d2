"""The catalog registry is the one list of APIs: every registered client is complete and
matches a config section, and a newly registered client is snapshotted, matched, priced
and titled in the report with no other edit."""

from __future__ import annotations

from typing import List

import pytest

from critpt_harness.catalogs import registry
from critpt_harness.catalogs.base import CatalogClient
from critpt_harness.config.catalog import ApiConfig, CatalogConfig
from critpt_harness.catalogs.endpoints import Endpoint, snaps
from critpt_harness.catalogs.llm_registry import ModelsResponse
from critpt_harness.catalogs.matching import match_model
from critpt_harness.catalogs.prices import snapshot_price
from critpt_harness.catalogs.snapshot import take_snapshot
from critpt_harness.catalogs.lookup import Snapshot
from critpt_harness.catalogs.stored import Candidate, CatalogPrice, SnapshotFiles, keys
from critpt_harness.report.catalog import ATTRIBUTIONS, TITLES


def test_every_registered_client_is_complete_and_has_a_config_section():
    defaults = CatalogConfig()
    assert set(registry.CLIENTS) == set(defaults.apis())
    for api, client in registry.CLIENTS.items():
        cfg = defaults.apis()[api]
        assert client.api == api and client.title and client.attribution, api
        assert set(cfg.endpoints) <= set(client.endpoints()), api  # the defaults are all known names
        for name, snap in client.snapshot_files.items():
            method = getattr(client, snap.call)
            assert isinstance(method, Endpoint) or callable(method), (api, name)
            assert not snap.each or callable(getattr(client, snap.each)), (api, name)
        # a key header exactly where the config names a key variable
        assert (client.key_header is None) == (cfg.api_key_env is None), api
        assert client.candidates is not CatalogClient.candidates, api  # every catalog can be matched
    assert dict(TITLES) == {api: c.title for api, c in registry.CLIENTS.items()}
    assert list(ATTRIBUTIONS) == list(registry.CLIENTS)


def test_a_call_with_an_argument_the_endpoint_does_not_take_fails_before_a_request(call, fakes):
    from critpt_harness.catalogs.aimodelsmap import AIModelsMapClient

    with pytest.raises(TypeError, match=r"models\(\) got unexpected keyword arguments \['colour'\]"):
        call(AIModelsMapClient, "models", colour="red")
    with pytest.raises(TypeError, match=r"model\(\) needs slug"):
        call(AIModelsMapClient, "model")
    assert fakes.aimodelsmap.count() == 0


class ToyClient(CatalogClient):
    """A fifth catalog, served by the LLM Registry fake: its model list, one price each."""

    api = "toy"
    title = "Toy Catalog"
    attribution = "Data from Toy Catalog, https://toy.invalid"
    listing = Endpoint("models", ModelsResponse)
    snapshot_files = snaps({"models": "listing"})

    @classmethod
    def candidates(cls, snap: SnapshotFiles) -> List[Candidate]:
        return [Candidate(r["id"], r.get("name") or r["id"], keys(r["id"], r.get("name")))
                for _, r in snap.rows(cls.api, "models", "models")]

    @classmethod
    def prices(cls, snap: SnapshotFiles, entry_id: str) -> List[CatalogPrice]:
        f, row = snap.find(cls.api, "models", "models", "id", entry_id)
        return [CatalogPrice(cls.api, 1.5, 6.0, "toy.price", snap.shown(f.path), f.fetched_at, row["name"])] \
            if f and row else []


def test_a_registered_client_is_snapshotted_matched_priced_and_titled(cfg, fakes, tmp_path, monkeypatch):
    toy = ApiConfig(base_url=fakes.llm_registry.base_url, endpoints=["models"])
    apis = CatalogConfig.apis
    monkeypatch.setattr(CatalogConfig, "apis", lambda self: {**apis(self), "toy": toy})
    monkeypatch.setitem(registry.CLIENTS, "toy", ToyClient)
    for api in ("artificial_analysis", "openrouter", "llm_registry", "aimodelsmap"):
        getattr(cfg, api).enabled = False  # only the new catalog can price the model

    out = tmp_path / "snap"
    index = take_snapshot(cfg, out, echo=lambda _: None)
    assert index["apis"]["toy"]["status"] == "ok" and index["apis"]["toy"]["title"] == "Toy Catalog"
    assert index["attributions"] == [ToyClient.attribution] and (out / "toy" / "models.json").exists()

    toy_match = {m.catalog: m for m in match_model(cfg, out, "GPT-4o")}["toy"]
    assert (toy_match.entry_id, toy_match.method) == ("gpt-4o", "exact")
    snap = Snapshot(out)
    [offline] = [m for m in snap.matches("GPT-4o", None, {}) if m.catalog == "toy"]
    assert [p.input_per_million for p in snap.prices_for(offline)] == [1.5]
    price, folder = snapshot_price([out], "GPT-4o", None, {})
    assert (price.input_per_million, price.output_per_million, folder) == (1.5, 6.0, out)
    assert price.source.startswith("Toy Catalog `toy.price` of 'GPT-4o'")
    assert TITLES["toy"] == "Toy Catalog" and ATTRIBUTIONS["toy"] == ToyClient.attribution
