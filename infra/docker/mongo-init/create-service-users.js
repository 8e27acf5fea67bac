// Runs once, when the MongoDB volume is first initialised (docker-entrypoint-initdb.d), as the root account.
// Each service gets its own user with a role that reaches only the collections it uses; the root account is
// for the operator alone. Passwords come from the environment (see .env.example).
const dbName = process.env.MONGO_DATABASE || "stable-alignment";
const app = db.getSiblingDB(dbName);
const writer = ["find", "insert", "update", "remove", "createIndex"];
const services = {
  // agent-runner owns the runs; memory-store owns interactions and memories. The store creates every index at start,
  // hence createIndex on the others' collections; nothing else reaches them. dataset-builder has no database user:
  // it asks memory-store for a run's interactions over the bus.
  "agent-runner": { password: process.env.MONGO_AGENT_RUNNER_PASSWORD, collections: { runs: writer, interactions: ["createIndex"], memory: ["createIndex"] } },
  "memory-store": { password: process.env.MONGO_MEMORY_STORE_PASSWORD, collections: { runs: ["createIndex"], interactions: writer, memory: writer } },
};
for (const [name, service] of Object.entries(services)) {
  if (!service.password) {
    throw new Error(`No password for the MongoDB user ${name}: set it in .env`);
  }
  const privileges = Object.entries(service.collections).map(([collection, actions]) => ({ resource: { db: dbName, collection }, actions }));
  app.createRole({ role: `${name}-role`, privileges, roles: [] });
  app.createUser({ user: name, pwd: service.password, roles: [{ role: `${name}-role`, db: dbName }] });
  print(`created MongoDB user ${name}`);
}
