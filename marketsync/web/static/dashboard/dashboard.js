// The marketsync dashboard: plain JS on the public GraphQL API, live through the
// organizationSyncStatus subscription (graphql-ws, vendored). No build step.
(() => {
  "use strict";

  const KEY_STORAGE = "marketsync.apiKey";
  const PAGE_SIZE = 100; // the API's largest page
  const JOB_POLL_MS = 1000;
  const JOB_POLL_MAX = 180;
  const GRAPHQL_URL = new URL("graphql", window.location.href).toString();
  const WS_URL = GRAPHQL_URL.replace(/^http/, "ws");

  const STORE_FIELDS = `id storeName marketplace externalStoreId syncStatus importedOrders lastSyncAt
    connectionState { lastStatus lastError lastAttemptAt lastSuccessAt }
    lastJob { id type status }`;
  const Q_VIEWER = "query Viewer { viewer { organizationId } }";
  const Q_STORES = `query Stores($org: String!, $first: Int!, $after: String) {
    stores(organizationId: $org, first: $first, after: $after) {
      edges { node { ${STORE_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
  const Q_STORE = `query Store($id: UUID!) { store(id: $id) { ${STORE_FIELDS} } }`;
  const Q_DETAILS = `query Details($id: UUID!) { store(id: $id) { ${STORE_FIELDS}
    syncLogs(first: 20) { totalCount edges { node {
      id receipt status orderId amount currency errorDetails attempt nextRetryAt createdAt } } }
    jobs(first: 10) { edges { node { id type status attempts startedAt finishedAt error } } }
    pushes: jobs(type: INVENTORY_PUSH, first: 5) { edges { node {
      id status createdAt summary error } } } } }`;
  const Q_BATCH = `query Batch($id: UUID!, $batch: String!) {
    inventoryBatch(storeId: $id, batchRequestId: $batch) {
      complete itemCount failedItemCount confirmedUpserted } }`;
  const Q_JOB = "query Job($id: UUID!) { job(id: $id) { id status error finishedAt } }";
  const M_SYNC = "mutation Sync($id: UUID!) { triggerSync(storeId: $id) { id status } }";
  const DELIVERY_FIELDS = `id event status attempt lastError lastResponseStatus updatedAt
    endpoint { targetUrl }`;
  const Q_HOOKS = `query Hooks($org: String!) {
    webhooks(organizationId: $org) { id event targetUrl isActive }
    webhookDeliveries(organizationId: $org, first: 20) { edges { node { ${DELIVERY_FIELDS} } } } }`;
  const M_REDELIVER = `mutation Redeliver($id: UUID!) {
    redeliverWebhook(deliveryId: $id) { ${DELIVERY_FIELDS} } }`;
  const S_ORG = `subscription Org($org: String!) { organizationSyncStatus(organizationId: $org) {
    storeId syncStatus importedOrders lastSyncAt failedCount pendingCount rateLimitedCount } }`;

  const MESSAGES = {
    UNAUTHENTICATED: "This API key was not accepted. Check it, or create one with `marketsync apikey create --org ORG`.",
    FORBIDDEN: "This API key may not do that.",
    NOT_FOUND: "Not found: it may have been removed, or it belongs to another organization.",
    BAD_USER_INPUT: "The server refused the request as malformed.",
  };

  const state = {
    key: null,
    org: null,
    rows: new Map(), // storeId -> {tr, store}
    endCursor: null,
    selected: null,
    client: null,
    everConnected: false,
    refreshTimers: new Map(),
    hooksTimer: null,
  };

  const byId = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "className") node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) node.append(child);
    return node;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "—";
  }

  class ApiError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  async function gql(query, variables) {
    let response;
    try {
      response = await fetch(GRAPHQL_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.key}` },
        body: JSON.stringify({ query, variables: variables || {} }),
        credentials: "omit",
      });
    } catch (_) {
      throw new ApiError("Cannot reach the marketsync server. Is it running?", "NETWORK");
    }
    let body;
    try {
      body = await response.json();
    } catch (_) {
      throw new ApiError(`The server answered HTTP ${response.status} without a GraphQL result.`, "HTTP");
    }
    if (body.errors && body.errors.length) {
      const code = (body.errors[0].extensions || {}).code;
      throw new ApiError(MESSAGES[code] || body.errors[0].message, code);
    }
    return body.data;
  }

  // Errors ------------------------------------------------------------------------------

  function showBanner(message) {
    const banner = byId("banner");
    banner.textContent = message;
    banner.hidden = !message;
  }

  function fail(error) {
    if (error && error.code === "UNAUTHENTICATED") {
      signOut(error.message);
      return;
    }
    showBanner(error && error.message ? error.message : String(error));
  }

  function setLive(stateName, text) {
    const live = byId("live");
    live.dataset.state = stateName;
    live.textContent = text;
  }

  // Sign in and out ---------------------------------------------------------------------

  async function signIn(key) {
    state.key = key;
    const keyError = byId("key-error");
    keyError.hidden = true;
    let viewer;
    try {
      viewer = (await gql(Q_VIEWER)).viewer;
    } catch (error) {
      state.key = null;
      sessionStorage.removeItem(KEY_STORAGE);
      keyError.textContent = error.message;
      keyError.hidden = false;
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    state.org = viewer.organizationId;
    byId("org").textContent = `organization ${state.org}`;
    byId("login").hidden = true;
    byId("main").hidden = false;
    byId("sign-out").hidden = false;
    byId("api-key").value = "";
    showBanner("");
    subscribe();
    await Promise.all([loadStores(true), loadWebhooks()]).catch(fail);
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    if (state.client) state.client.dispose();
    state.client = null;
    state.key = null;
    state.org = null;
    state.rows.clear();
    state.selected = null;
    state.everConnected = false;
    byId("store-rows").replaceChildren();
    byId("delivery-rows").replaceChildren();
    byId("endpoints").replaceChildren();
    byId("details").hidden = true;
    byId("main").hidden = true;
    byId("login").hidden = false;
    byId("sign-out").hidden = true;
    byId("org").textContent = "";
    setLive("offline", "offline");
    showBanner("");
    const keyError = byId("key-error");
    keyError.textContent = message || "";
    keyError.hidden = !message;
  }

  // Stores ------------------------------------------------------------------------------

  function storeRow(store) {
    const syncButton = el("button", { type: "button", "data-testid": "sync-now", text: "Sync now" });
    syncButton.addEventListener("click", () => syncNow(store.id, syncButton));
    const open = el("button", { type: "button", className: "link", "data-testid": "store-open", text: store.storeName });
    open.addEventListener("click", () => showDetails(store.id).catch(fail));
    const tr = el(
      "tr",
      { "data-testid": "store-row", "data-store-id": store.id },
      el("td", {}, open, el("div", { className: "muted", text: store.externalStoreId })),
      el("td", { text: store.marketplace }),
      el("td", {}, el("span", { className: "status", "data-testid": "store-status" })),
      el("td", { className: "num", "data-testid": "store-imported" }),
      el("td", { "data-testid": "store-last-sync" }),
      el("td", { "data-testid": "store-connection" }),
      el("td", { "data-testid": "store-job" }),
      el("td", {}, syncButton),
    );
    const row = { tr, store: {} };
    state.rows.set(store.id, row);
    updateRow(store.id, store);
    return tr;
  }

  function updateRow(storeId, fields) {
    const row = state.rows.get(storeId);
    if (!row) return; // not loaded yet (a later page): shown fresh when loaded
    Object.assign(row.store, fields);
    const store = row.store;
    const status = row.tr.querySelector('[data-testid="store-status"]');
    status.textContent = store.syncStatus;
    status.dataset.status = store.syncStatus;
    row.tr.querySelector('[data-testid="store-imported"]').textContent = String(store.importedOrders);
    row.tr.querySelector('[data-testid="store-last-sync"]').textContent = when(store.lastSyncAt);
    const conn = store.connectionState;
    if (conn) {
      const cell = row.tr.querySelector('[data-testid="store-connection"]');
      cell.textContent = conn.lastStatus + (conn.lastError ? `: ${conn.lastError}` : "");
      cell.title = `last attempt ${when(conn.lastAttemptAt)}, last success ${when(conn.lastSuccessAt)}`;
    }
    if (store.lastJob !== undefined) {
      row.tr.querySelector('[data-testid="store-job"]').textContent = store.lastJob
        ? `${store.lastJob.type} ${store.lastJob.status}`
        : "—";
    }
    row.tr.classList.remove("flash");
    void row.tr.offsetWidth; // restart the highlight
    row.tr.classList.add("flash");
  }

  async function loadStores(reset) {
    if (reset) {
      state.rows.clear();
      state.endCursor = null;
      byId("store-rows").replaceChildren();
    }
    const data = await gql(Q_STORES, { org: state.org, first: PAGE_SIZE, after: state.endCursor });
    const page = data.stores;
    const body = byId("store-rows");
    for (const edge of page.edges) {
      if (!state.rows.has(edge.node.id)) body.append(storeRow(edge.node));
    }
    state.endCursor = page.pageInfo.endCursor || state.endCursor;
    byId("load-more").hidden = !page.pageInfo.hasNextPage;
    byId("no-stores").hidden = state.rows.size > 0;
    byId("store-count").textContent = `(${state.rows.size}${page.pageInfo.hasNextPage ? "+" : ""})`;
    applyFilter();
  }

  // After a reconnect, events may have been missed: read the loaded stores again.
  async function reloadLoadedStores() {
    const wanted = state.rows.size;
    let after = null;
    let seen = 0;
    while (seen < wanted) {
      const data = await gql(Q_STORES, { org: state.org, first: PAGE_SIZE, after });
      for (const edge of data.stores.edges) updateRow(edge.node.id, edge.node);
      seen += data.stores.edges.length;
      if (!data.stores.pageInfo.hasNextPage) break;
      after = data.stores.pageInfo.endCursor;
    }
  }

  function applyFilter() {
    const needle = byId("store-filter").value.trim().toLowerCase();
    for (const { tr, store } of state.rows.values()) {
      const hay = `${store.storeName} ${store.externalStoreId} ${store.marketplace}`.toLowerCase();
      tr.hidden = Boolean(needle) && !hay.includes(needle);
    }
  }

  function refreshStoreSoon(storeId) {
    if (state.refreshTimers.has(storeId)) return;
    state.refreshTimers.set(
      storeId,
      setTimeout(async () => {
        state.refreshTimers.delete(storeId);
        try {
          if (state.selected === storeId) await showDetails(storeId);
          else updateRow(storeId, (await gql(Q_STORE, { id: storeId })).store);
        } catch (error) {
          fail(error);
        }
      }, 300),
    );
  }

  async function syncNow(storeId, button) {
    button.disabled = true;
    const cell = state.rows.get(storeId).tr.querySelector('[data-testid="store-job"]');
    try {
      let job = (await gql(M_SYNC, { id: storeId })).triggerSync;
      cell.textContent = `STORE_SYNC ${job.status}`;
      for (let i = 0; i < JOB_POLL_MAX && (job.status === "QUEUED" || job.status === "RUNNING"); i++) {
        await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
        job = (await gql(Q_JOB, { id: job.id })).job;
        cell.textContent = `STORE_SYNC ${job.status}`;
      }
      if (job.error) cell.textContent += `: ${job.error}`;
      refreshStoreSoon(storeId);
      loadWebhooksSoon();
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  }

  // One store's details ----------------------------------------------------------------

  async function showDetails(storeId) {
    state.selected = storeId;
    const store = (await gql(Q_DETAILS, { id: storeId })).store;
    if (state.selected !== storeId) return;
    updateRow(storeId, store);
    byId("details-title").textContent = `${store.storeName} (${store.marketplace} ${store.externalStoreId})`;
    byId("log-total").textContent = `(${store.syncLogs.totalCount} in all)`;
    byId("log-rows").replaceChildren(
      ...store.syncLogs.edges.map(({ node: log }) =>
        el(
          "tr",
          { "data-testid": "sync-log-row" },
          el("td", { text: log.receipt }),
          el("td", {}, el("span", { className: "status", "data-status": log.status, text: log.status })),
          el("td", { text: log.orderId || "—" }),
          el("td", { className: "num", text: log.amount ? `${log.amount} ${log.currency || ""}` : "—" }),
          el("td", { className: "num", text: log.attempt }),
          el("td", { text: log.errorDetails || (log.nextRetryAt ? `retry ${when(log.nextRetryAt)}` : "") }),
          el("td", { text: when(log.createdAt) }),
        ),
      ),
    );
    byId("job-rows").replaceChildren(
      ...store.jobs.edges.map(({ node: job }) =>
        el(
          "tr",
          { "data-testid": "job-row", "data-job-id": job.id },
          el("td", { text: job.type }),
          el("td", {}, el("span", { className: "status", "data-status": job.status, text: job.status })),
          el("td", { className: "num", text: job.attempts }),
          el("td", { text: when(job.startedAt) }),
          el("td", { text: when(job.finishedAt) }),
          el("td", { text: job.error || "" }),
        ),
      ),
    );
    const pushes = await Promise.all(store.pushes.edges.map(({ node }) => pushRow(storeId, node)));
    const none = el("tr", {}, el("td", { colspan: 4, className: "muted", text: "No inventory pushes yet." }));
    byId("push-rows").replaceChildren(...(pushes.length ? pushes : [none]));
    byId("details").hidden = false;
  }

  async function pushRow(storeId, job) {
    const summary = job.summary || {};
    let batch = "—";
    if (summary.batchRequestId) {
      try {
        const b = (await gql(Q_BATCH, { id: storeId, batch: summary.batchRequestId })).inventoryBatch;
        batch = b.complete
          ? `confirmed: ${b.confirmedUpserted} upserted, ${b.failedItemCount} failed of ${b.itemCount}`
          : `awaiting confirmation (${b.itemCount} items)`;
      } catch (error) {
        batch = error.message;
      }
    } else if (summary.dryRun) {
      batch = "dry run: not sent";
    } else if (summary.remoteCall === false) {
      batch = "writes disabled: not sent";
    }
    return el(
      "tr",
      { "data-testid": "inventory-row" },
      el("td", { text: when(job.createdAt) }),
      el("td", {}, el("span", { className: "status", "data-status": job.status, text: job.status })),
      el("td", { className: "num", text: summary.itemCount ?? "—" }),
      el("td", { text: job.error ? `${batch} (${job.error})` : batch }),
    );
  }

  // Webhooks ----------------------------------------------------------------------------

  function deliveryRow(delivery) {
    const button = el("button", { type: "button", "data-testid": "redeliver", text: "Redeliver" });
    const tr = el(
      "tr",
      { "data-testid": "delivery-row", "data-delivery-id": delivery.id },
      el("td", { text: delivery.event }),
      el("td", { className: "url", text: delivery.endpoint.targetUrl }),
      el("td", {}, el("span", { className: "status", "data-testid": "delivery-status", "data-status": delivery.status, text: delivery.status })),
      el("td", { className: "num", text: delivery.attempt }),
      el("td", { text: delivery.lastResponseStatus ?? "—" }),
      el("td", { text: delivery.lastError || "" }),
      el("td", { text: when(delivery.updatedAt) }),
      el("td", {}, button),
    );
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const fresh = (await gql(M_REDELIVER, { id: delivery.id })).redeliverWebhook;
        tr.replaceWith(deliveryRow(fresh));
        loadWebhooksSoon();
      } catch (error) {
        fail(error);
        button.disabled = false;
      }
    });
    return tr;
  }

  async function loadWebhooks() {
    const data = await gql(Q_HOOKS, { org: state.org });
    byId("endpoints").replaceChildren(
      ...(data.webhooks.length
        ? data.webhooks.map((hook) =>
            el("li", { "data-testid": "endpoint-row" }, `${hook.event} → ${hook.targetUrl}${hook.isActive ? "" : " (deactivated)"}`),
          )
        : [el("li", { className: "muted", text: "No webhook endpoints registered." })]),
    );
    byId("delivery-rows").replaceChildren(...data.webhookDeliveries.edges.map(({ node }) => deliveryRow(node)));
  }

  function loadWebhooksSoon() {
    clearTimeout(state.hooksTimer);
    state.hooksTimer = setTimeout(() => loadWebhooks().catch(fail), 1500);
  }

  // Live updates --------------------------------------------------------------------------

  function subscribe() {
    if (!window.graphqlWs) {
      setLive("offline", "live updates unavailable");
      return;
    }
    const client = window.graphqlWs.createClient({
      url: WS_URL,
      connectionParams: () => ({ Authorization: `Bearer ${state.key}` }),
      lazy: false,
      keepAlive: 10000,
      retryAttempts: Infinity,
      shouldRetry: (event) => !(event && event.code === 4403),
      retryWait: (retries) =>
        new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 8000) * (0.5 + Math.random() / 2))),
      on: {
        connecting: () => setLive(state.everConnected ? "reconnecting" : "connecting", state.everConnected ? "reconnecting…" : "connecting…"),
        connected: () => {
          const again = state.everConnected;
          state.everConnected = true;
          setLive("live", "live");
          if (again) reloadLoadedStores().then(loadWebhooks).catch(fail);
        },
        closed: (event) => {
          if (client !== state.client) return;
          if (event && event.code === 4403) signOut(MESSAGES.UNAUTHENTICATED);
          else setLive("reconnecting", "connection lost, reconnecting…");
        },
      },
    });
    state.client = client;
    client.subscribe(
      { query: S_ORG, variables: { org: state.org } },
      {
        next: (message) => {
          if (message.errors) return fail(new ApiError(message.errors[0].message));
          const report = message.data.organizationSyncStatus;
          updateRow(report.storeId, {
            syncStatus: report.syncStatus,
            importedOrders: report.importedOrders,
            lastSyncAt: report.lastSyncAt,
          });
          refreshStoreSoon(report.storeId); // its connection state and last job
          loadWebhooksSoon();
        },
        error: (error) => {
          if (client !== state.client) return;
          if (error && error.code === 4403) signOut(MESSAGES.UNAUTHENTICATED);
          else if (Array.isArray(error)) fail(new ApiError(error[0].message));
          else setLive("offline", "live updates stopped: reload the page");
        },
        complete: () => {},
      },
    );
  }

  // Wiring ------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    byId("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = byId("api-key").value.trim();
      if (key) signIn(key);
    });
    byId("sign-out").addEventListener("click", () => signOut(""));
    byId("load-more").addEventListener("click", () => loadStores(false).catch(fail));
    byId("store-filter").addEventListener("input", applyFilter);
    byId("webhooks-refresh").addEventListener("click", () => loadWebhooks().catch(fail));
    byId("details-close").addEventListener("click", () => {
      state.selected = null;
      byId("details").hidden = true;
    });
    const saved = sessionStorage.getItem(KEY_STORAGE);
    if (saved) signIn(saved);
  });
})();
