from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "api_key" (
    "id" UUID NOT NULL PRIMARY KEY,
    "organization_id" VARCHAR(255) NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL UNIQUE,
    "prefix" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_api_key_organiz_677338" ON "api_key" ("organization_id");
CREATE TABLE IF NOT EXISTS "store" (
    "id" UUID NOT NULL PRIMARY KEY,
    "organization_id" VARCHAR(255) NOT NULL,
    "marketplace" VARCHAR(16) NOT NULL,
    "external_store_id" VARCHAR(255) NOT NULL,
    "store_name" VARCHAR(255) NOT NULL,
    "access_token_encrypted" TEXT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "sync_token" UUID NOT NULL UNIQUE,
    "last_sync_at" TIMESTAMPTZ,
    "imported_orders" INT NOT NULL,
    "conn_last_attempt_at" TIMESTAMPTZ,
    "conn_last_success_at" TIMESTAMPTZ,
    "conn_last_status" VARCHAR(16) NOT NULL,
    "conn_last_job_id" UUID,
    "conn_last_error" TEXT,
    "conn_updated_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_store_organiz_6f5c69" UNIQUE ("organization_id", "marketplace", "external_store_id")
);
CREATE INDEX IF NOT EXISTS "idx_store_organiz_2e9656" ON "store" ("organization_id", "created_at", "id");
CREATE INDEX IF NOT EXISTS "idx_store_created_73de08" ON "store" ("created_at", "id");
COMMENT ON COLUMN "store"."marketplace" IS 'ETSY: ETSY\nSHOPIFY: SHOPIFY\nAMAZON: AMAZON\nTRENDYOL: TRENDYOL';
COMMENT ON COLUMN "store"."conn_last_status" IS 'IDLE: IDLE\nRUNNING: RUNNING\nSUCCESS: SUCCESS\nFAILED: FAILED';
CREATE TABLE IF NOT EXISTS "inventory_batch" (
    "id" UUID NOT NULL PRIMARY KEY,
    "batch_request_id" VARCHAR(255) NOT NULL,
    "push_job_id" UUID NOT NULL,
    "complete" BOOL NOT NULL,
    "item_count" INT NOT NULL,
    "failed_item_count" INT NOT NULL,
    "items" JSONB NOT NULL,
    "confirmed_upserted" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "store_id" UUID NOT NULL REFERENCES "store" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_inventory_b_store_i_0e2964" UNIQUE ("store_id", "batch_request_id")
);
CREATE TABLE IF NOT EXISTS "inventory_item_state" (
    "id" UUID NOT NULL PRIMARY KEY,
    "barcode" VARCHAR(255) NOT NULL,
    "quantity" INT NOT NULL,
    "sale_price" DECIMAL(14,2) NOT NULL,
    "list_price" DECIMAL(14,2) NOT NULL,
    "currency_type" VARCHAR(3) NOT NULL,
    "confirmed_at" TIMESTAMPTZ NOT NULL,
    "store_id" UUID NOT NULL REFERENCES "store" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_inventory_i_store_i_89cd81" UNIQUE ("store_id", "barcode")
);
CREATE TABLE IF NOT EXISTS "job" (
    "id" UUID NOT NULL PRIMARY KEY,
    "type" VARCHAR(16) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "attempts" INT NOT NULL,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "summary" JSONB,
    "error" TEXT,
    "payload" JSONB,
    "body_hash" VARCHAR(64),
    "write_effective" BOOL NOT NULL,
    "chunk_index" INT,
    "parent_job_id" UUID,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "store_id" UUID NOT NULL REFERENCES "store" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_job_store_i_b4e6df" ON "job" ("store_id", "type", "created_at");
CREATE INDEX IF NOT EXISTS "idx_job_store_i_c6f75d" ON "job" ("store_id", "status");
CREATE INDEX IF NOT EXISTS "idx_job_store_i_004564" ON "job" ("store_id", "body_hash", "write_effective", "created_at");
COMMENT ON COLUMN "job"."type" IS 'STORE_SYNC: STORE_SYNC\nINVENTORY_PUSH: INVENTORY_PUSH\nINVENTORY_POLL: INVENTORY_POLL';
COMMENT ON COLUMN "job"."status" IS 'QUEUED: QUEUED\nRUNNING: RUNNING\nSUCCESS: SUCCESS\nFAILED: FAILED';
CREATE TABLE IF NOT EXISTS "sync_log" (
    "id" UUID NOT NULL PRIMARY KEY,
    "receipt" VARCHAR(255) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "order_id" VARCHAR(255),
    "amount" DECIMAL(14,2),
    "currency" VARCHAR(3),
    "error_details" VARCHAR(64),
    "attempt" INT NOT NULL,
    "next_retry_at" TIMESTAMPTZ,
    "imported_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "store_id" UUID NOT NULL REFERENCES "store" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_sync_log_store_i_61698a" UNIQUE ("store_id", "receipt")
);
CREATE INDEX IF NOT EXISTS "idx_sync_log_status_1882eb" ON "sync_log" ("status", "next_retry_at");
CREATE INDEX IF NOT EXISTS "idx_sync_log_store_i_a5440d" ON "sync_log" ("store_id", "status");
CREATE INDEX IF NOT EXISTS "idx_sync_log_store_i_6d982c" ON "sync_log" ("store_id", "created_at");
COMMENT ON COLUMN "sync_log"."status" IS 'PENDING: PENDING\nSUCCESS: SUCCESS\nFAILED: FAILED\nRATE_LIMITED: RATE_LIMITED';
CREATE TABLE IF NOT EXISTS "webhook_endpoint" (
    "id" UUID NOT NULL PRIMARY KEY,
    "organization_id" VARCHAR(255) NOT NULL,
    "event" VARCHAR(32) NOT NULL,
    "target_url" VARCHAR(2048) NOT NULL,
    "secret_encrypted" TEXT NOT NULL,
    "is_active" BOOL NOT NULL,
    "consecutive_failures" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_webhook_end_organiz_d0e386" UNIQUE ("organization_id", "event", "target_url")
);
COMMENT ON COLUMN "webhook_endpoint"."event" IS 'SYNC_STARTED: sync.started\nSYNC_COMPLETED: sync.completed\nSYNC_FAILED: sync.failed';
CREATE TABLE IF NOT EXISTS "webhook_event" (
    "id" UUID NOT NULL PRIMARY KEY,
    "organization_id" VARCHAR(255) NOT NULL,
    "store_id" UUID,
    "event" VARCHAR(32) NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_webhook_eve_organiz_6eccf9" ON "webhook_event" ("organization_id");
COMMENT ON COLUMN "webhook_event"."event" IS 'SYNC_STARTED: sync.started\nSYNC_COMPLETED: sync.completed\nSYNC_FAILED: sync.failed';
COMMENT ON TABLE "webhook_event" IS 'An outbox row, written in the transaction of the change it describes.';
CREATE TABLE IF NOT EXISTS "webhook_delivery" (
    "id" UUID NOT NULL PRIMARY KEY,
    "organization_id" VARCHAR(255) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "attempt" INT NOT NULL,
    "next_retry_at" TIMESTAMPTZ,
    "claimed_until" TIMESTAMPTZ,
    "last_error" TEXT,
    "last_response_status" INT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "endpoint_id" UUID NOT NULL REFERENCES "webhook_endpoint" ("id") ON DELETE CASCADE,
    "event_record_id" UUID NOT NULL REFERENCES "webhook_event" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_webhook_del_event_r_98ae86" UNIQUE ("event_record_id", "endpoint_id")
);
CREATE INDEX IF NOT EXISTS "idx_webhook_del_status_9e0769" ON "webhook_delivery" ("status", "next_retry_at");
CREATE INDEX IF NOT EXISTS "idx_webhook_del_organiz_d9b189" ON "webhook_delivery" ("organization_id", "created_at");
COMMENT ON COLUMN "webhook_delivery"."status" IS 'PENDING: PENDING\nSUCCESS: SUCCESS\nFAILED: FAILED';
CREATE TABLE IF NOT EXISTS "webhook_delivery_attempt" (
    "id" UUID NOT NULL PRIMARY KEY,
    "attempt" INT NOT NULL,
    "status_code" INT,
    "duration_ms" INT NOT NULL,
    "error_class" VARCHAR(128),
    "error" TEXT,
    "response_excerpt" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "delivery_id" UUID NOT NULL REFERENCES "webhook_delivery" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXW1z2zYS/iscfkpnfB5Hcd2M5+ZmZEtJ1MpSaslt07rDgUhIYk2BDEjG1uXy3w/gi0"
    "iCAC1SLyFpfEkkAAvBzwLk7rML4Ku6sg1ouaddx/wFrtVL5auKwAqSD0zNiaICx0nKaYEH"
    "ZlbQFDim9hA1mrkeBrpHiufAciEpMqCrY9PxTBuRUuRbFi20ddLQRIukyEfmZx9qnr2A3h"
    "JiUvHX36TYRAZ8gm781XnQ5ia0jMxYTYP+dlCueWsnKLu7G/TeBS3pz8003bb8FUpaO2tv"
    "aaNNc983jVMqQ+sWEEEMPGik/gw6yugPjovCEZMCD/twM1QjKTDgHPgWBUP999xHOsVAWQ"
    "H8AD13jfRT03BPEXzUTOM/0ShTEpo2Gk+1SX+qaWoJGHUbURWYyKOYff0W9ptgE5Sq9Aeu"
    "P3RvX725+CFAw3a9BQ4qA+TUb4Eg8EAoGuCfAG7jBUDmfwEdjcZD/3oJMB99jiijCjL8Kk"
    "qICwq0EKN2AJzVFXjSLIgW3pJ87fz4YwHwv3VvA+xJqwB8m6yYcCWNoqpOWEeVkIBOlpi2"
    "BO6yDNppmf3A/PxcPxrKF+dbgHxxLsSYVmUhdjCcm09lAE4kDjWLk+fo0QF+fbEFwK8vhA"
    "DTqizAOoYUDA14eZB7pMYzV5APdFaSAduIRE/jD02EnvyBxhhZ62hNFUA/Hdz0J9PuzUf6"
    "cyvX/WwF+HWnfVrTCUrXTOkrVk2bTpTfB9MPCv2q/Dke9dnXwabd9E+Vjgn4nq0h+1EDRm"
    "r5x6UxahmtW8D1NN+tpHdWdg+aj4ZcF8U3RNExJoWaxvCL/VBJz1lJqeW6aZka3/OHlDVI"
    "C2ZAf3gE2NByNXbHFrXNV606K7YEILAIlETRpOOM/JEetMwvEK+7ngdXjqdyXBa2yUmR7/"
    "IIZ0vbfiD6DoXI/EukpDPzEpyZlMazqA+Qxwc9JcEgT0baRNNjQQfxr87r85/O3765OH9L"
    "mgQD3ZT8VAD9YDRlrDzXA57vEsAMWAJVRqoSsjV76O8bWMPHoeO8cksAy0jJKctBFmJsY0"
    "0n1iYHWbH7x4hV8gHrNmezLmDn7TY+YOet2AmkdRyw8zBP4ZNgBm8E2gBwkSXY/2OaMQJj"
    "GF/ddP/4IWMIDsej93HzFOzXw/EVgzZ5EzpkBFCDTzrEvBedGHierNRBeR1I3kP8vGkv77"
    "FxKsrZ9IzYPo37+i67Zwz4nPuZRzkP8TsbQ3OBfoHrAOgBGQtAOs+6jFzH30NvsJfqsZkI"
    "J6XJVMXgceNusnOMQEFKoBeaO93JdbfXV799Hxd/gL5A5Nl4fQU8falyPHymxUmRg2/Gbb"
    "XZpvFe/fq/yBuQzLMIyOBHNAxJK9ejZX9Lv7+mfn9OVSXsfp5sCwNAB4ljOr671P6xZyXf"
    "ioyYfCuyJqa9coIneA7TK9u2IEAC+zIlxmA6I3KHgnNTclw8r8bjYcZ4vBqw1vvdzVWfeL"
    "QB5KSRGb4T84wBqVgRHH1UhjnMCh2PiTk71ONizzTMHJgWcXYqYcuVlRDz5i2H4/p5Mh6J"
    "5yyP3TJM3VP+p1imezBMUxbHzDctz0TuKf2972FpUICKeQGWAmCe2bSDHC9go7mJV2Ta+o"
    "4LMUVv+wnPF5Yznp3xknwRQ91e8sV3jIpaz0pKrddF65zchGj06dBj4otv61mkZaRbUUy2"
    "BVjtgWmbxP00E9Rn+bX0nKoluTYgVt3EA8GgxARb0upkO5ItsL7djcRBmTYcpApIgq2+BB"
    "vmp4AU8WpYkP8h6TQBnfbZB8gzPU74Q+g4pEVkNggvgQlYUHOwqXMmbw/q5gpYAlMiI8ia"
    "jqHkadRDA3EuALHXvx7cdIevXp+fdBjuLJ7Y52fs3KW+fCWcs4IS52dw1n2MIdLXIUQlns"
    "c5wRY+ld9s8Ux+I3wiv8lhvWFlKvANjGwLfc/m+pp5ikE6m9LZlM6m2Nn82Z6pHO+SFp8U"
    "uZP/RA0Ouf8i60zGr7cU4UvaZ9uE+en58pltJJtsHzF5GWtwPofEj/uS61M6p3VxTsWWUB"
    "/5q9yDJQN/E4whdTId3/a1yafR9aWSfL5Hg9Fv/RH5/kn7eDf5cKlkv2fqx8Nhpp58VysY"
    "WPvfRhwtxYrqS6SPp0D117v+Xb9Xco1EUpdK+P89ur0bjQaj95dK9OEeTe6ur/uTCdFx+O"
    "EevesOhlQm/L8eCot2TJXZtZIWkTFNzhYrXC26lZWUG23r7GDMTWS6y0pqZkSlnuusZ9df"
    "EZuKQ+GKs3JSIjvl5TRHqwdJwJFb0Y65DcoBa8sGHFdHPM9TInKeV5/nGSd162hcWqgN8/"
    "3Q50dxvP8SqdgcaZmRXSIjW1/66EEL/sYSfgYjJY8dyAPrAAyRV2XPBiu4A2VVM4z3tGlD"
    "pqa2LElRpqa+RK3L1FQZLawJqI2NFoa4c+KFG4WII4Yb3e8745RzXHEY/XIsEE4i+ORBjI"
    "ClbXBlM1K5vWTf31SKxhXzpTJiWJeIYTMOvW5beiuz2qrE+5gu6oy82p9OPl0q9N97NPkw"
    "/jh4R75GH+5R96ZLjJNLJfz/Hk1v+6Pep/HwUok/qRX0tv9wX/6ZWGKxcIXrrLQ6LZcQs+"
    "BbCcizUhLr7bAGug5dlxgMDxBpEOl47XA38IqDCeIeWqGDY4cX4mzlMlM/LdMK0A+a3Ewt"
    "uHC6lvJiM1J1MkKTkdXSGGWO0A9GW/EI/ZSszAWoD0uUJwfNlWMHCTo2NiAukzHFkZSJU7"
    "kgkY2QFqyIKMGs2jYNbh9yYdV5YSVac/3Q7tpF89k+pOYbovmdEod5/RwxhXjQG/ZLWimB"
    "zKVC/21u8nACe/kINE9WBqFF+JbOhuOItiFP6OiOK4WxelSYIy5fSLV+Icm0j5YlAMi0j5"
    "eodVHaRy5LQRxRTzn+2ZPKIcdMvYq6ePfLLbSCaCJnPggPSW/YnBDlM2TZkszJU/uCLHPs"
    "VRthI8bwjlhFm7jbCE5AlVr2YkeEJqSbob1oE0oHTf+J4OIlACVIFqQARVoLWh3w3DkMdU"
    "j64WT5JKQAIg6ThqEX3Ce5/UkC8qSAOub9xArPoS4OKqZEWhhTPFDiQuO29H/sj3qD0fuy"
    "lFwkdqlEH56n4e7RLTFkteHgZjClpelv9aDogohT6aS4RKYNpNExMk5W/DsRCs/KS4R2Pi"
    "evZogXALzTMXllZvHO+SM1w/Sg6SPhdakG9IBpVbhnNSXYPqj3vxu1IRdbNyVzIGvU55/B"
    "hQxeTlgS9PXh7AqScMprmhGVeq6znmUgRvz4bCYlLwMxL1HrokCM3H+7Z6JM7r99DtTG7r"
    "9lL7/mEPGc+7HFhPxj2FhL38+9b2Ie0oAdsat1m/z1IaQQGY5N0OfvxC3k6Iu36UpKvjaU"
    "vNyKKyn6elH09aDhJeOjSsanFmZkzZ0DDhNgATO4Shd5plWaDGCFpa7rrOtque4yzX3XNP"
    "cAQaJHhwwDCvfiCN9VInF5ZKO887r9FJckNl+i1rchNtOMR07tYh6CEZP0JpuskOeWtoY2"
    "LyrhLWaP05DtgUSOmMo+7fV202kzgX6WUeZMNz6xzHtq7BHsVI9tRTr7zCxL329zIVKZLQ"
    "YxEd9NWJyWAH/QrQbsfBVHOtJT+vlIR3pJHeEg0mDZhwPBpKnmYysX8ZAxCxmzqO3iP0LM"
    "YrNGqoQsNsJ1Rlul1zpqxIW4DfYGBIskuuPtHgV11+Obj8N+UqvbK4e+tOL6OJIRVM6BaY"
    "VHEJbOFe5skyzcEWcLd1jlpZ5rJVZLVqrOqqu6UM7O326zUkgz8VIJKpn4HtQxAa7SSZY8"
    "2VZAf2yO1HQ1UOXyoIzcEa8Nil/bzb01iLLJuk+h0+jDz8e8nffi64ME4jKaKinptpOTkp"
    "J+iVoXUdKVDj2JkgPNXU874WQmNmw2fFcmJEWTFpAhWTJ1Cz4k9p+eJUPULlJs35vZTwq2"
    "H08UehWiB5FiIsVbQoIDQC4IuQB7HhTpS4AWUDE9JexpBt1T1mvZX68cSkYSLZJo2eHZkt"
    "NCs3mW77i5omaZHHsMPkreqpm81Xe85rqmVg0P2oPccy2dTPGsb6a7IXIypbvRPHejS6DX"
    "lyrHxYhqCt0KkLTZa3B1F0tefBkH71nOYQGj6b2bBV/7xFSxtU6WjxsttW2t9JRInQ2cOp"
    "nndFGVQDhq3kJ0X5+dbbPp6uxMvOvqLH9ulI08rrkutvdSItLeK2nvlXjz7/9l9u3/aCXx"
    "bw=="
)
