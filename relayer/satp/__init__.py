"""SATP between two relayers: the wire profile, the Hermes profile and the session machine.

Two platforms each run their own relayer; the relayers negotiate one delivery-versus-payment
trade in the messages of IETF SATP (draft-ietf-satp-core-17) in its asset-exchange mode
(draft-marstein-satp-asset-exchange, "SAEP"), with hash-time locks as the lock assertions.
``specs/protocol/satp.md`` names every choice the drafts leave open and every deviation.

Modules:

- :mod:`relayer.satp.jcs`      RFC 8785 JSON canonicalisation (what is hashed and signed);
- :mod:`relayer.satp.jws`      ES256 keys as JWK, flattened JWS envelopes;
- :mod:`relayer.satp.messages` the messages as frozen pydantic models, and the claims;
- :mod:`relayer.satp.errors`   SATP errors, each with its RFC 9457 problem details;
- :mod:`relayer.satp.verify`   the transcript and the verifier of received messages;
- :mod:`relayer.satp.hermes`   the signature and hash profile of Hyperledger Cacti SATP-Hermes;
- :mod:`relayer.satp.session`  one side's session as a pure state machine;
- :mod:`relayer.satp.chain`    a peer's lock assertion checked on its chain (recomputed lock id);
- :mod:`relayer.satp.node`     sessions persisted in the relayer store, envelopes in and out;
- :mod:`relayer.satp.executor` the session effects run on the chains with this side's keys;
- :mod:`relayer.satp.routes`   the HTTP routes (mounted by ``relayer.api.create_app(satp=...)``).
"""
