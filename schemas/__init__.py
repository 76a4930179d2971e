"""The shared Avro contract of seabus and its codec (the ground floor: imports nothing above).

Modules, by what they do:

- ``avro/<family>/v<N>.avsc``: every version of every record, self-contained;
  ``avro/released.yaml`` pins the released ones.
- :mod:`schemas.registry`: loads all versions, indexes writers by fingerprint.
- :mod:`schemas.canonical`: Parsing Canonical Form and CRC-64-AVRO fingerprints.
- :mod:`schemas.codec`: single-object encode/decode, dicts or models.
- :mod:`schemas.cloudevents`: CloudEvents Kafka binary-mode headers.
- :mod:`schemas.compat`: full transitive compatibility check (``seabus schema check``).
- :mod:`schemas.enums`, :mod:`schemas.models`: typed mirrors of the schemas.
- :mod:`schemas.drift`: proves models and schemas agree.
- :mod:`schemas.validation`: what the contract means (codes, dates, counts, sequence).
- :mod:`schemas.limits`: identifier limits and the size budgets of dead letters and escalations.
- :mod:`schemas.entities`: the configured reporting entities.
- :mod:`schemas.testing`: synthetic valid messages for tests.
- :mod:`schemas.errors`: the one exception hierarchy.

Nothing is re-exported here, so ``import schemas.errors`` stays cheap for
every other package.
"""
