import mongoose from "mongoose";
const c = await mongoose.createConnection("mongodb://127.0.0.1:27017/admin").asPromise();
const dbs = await c.db!.admin().listDatabases();
for (const d of dbs.databases.filter((d: any) => d.name.startsWith("cds_"))) {
	const db = c.useDb(d.name).db!;
	console.log(
		d.name,
		await db.collection("runs").countDocuments({ status: "Success" }),
		await db.collection("runs").countDocuments({}),
		await db.collection("job_queue").countDocuments(),
	);
}
await c.close();
