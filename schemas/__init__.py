"""The shared Avro contract of seabus and its codec (the ground floor: imports nothing above).

Modules, by what they do:

- ``avro/<family>/v<N>.avsc``: every version of every record, self-contained;
  ``avro/released.yaml`` pins the released ones.
- :mod:`seabus.schemas.registry`: loads all versions, indexes writers by fingerprint.
- :mod:`seabus.schemas.canonical`: Parsing Canonical Form and CRC-64-AVRO fingerprints.
- :mod:`seabus.schemas.codec`: single-object encode/decode, dicts or models.
- :mod:`seabus.schemas.cloudevents`: CloudEvents Kafka binary-mode headers.
- :mod:`seabus.schemas.compat`: full transitive compatibility check (``seabus schema check``).
- :mod:`seabus.schemas.enums`, :mod:`seabus.schemas.models`: typed mirrors of the schemas.
- :mod:`seabus.schemas.drift`: proves models and schemas agree.
- :mod:`seabus.schemas.validation`: what the contract means (codes, dates, counts, sequence).
- :mod:`seabus.schemas.limits`: identifier limits and the size budgets of dead letters and escalations.
- :mod:`seabus.schemas.entities`: the configured reporting entities.
- :mod:`seabus.schemas.testing`: synthetic valid messages for tests.
- :mod:`seabus.schemas.errors`: the one exception hierarchy.

Nothing is re-exported here, so ``import schemas.errors`` stays cheap for
every other package.
"""
