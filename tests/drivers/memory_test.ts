import { MemoryDriver } from "../../src/drivers/memory.ts";
import { driverContract } from "./contract.ts";

driverContract("memory", () => {
  const driver = new MemoryDriver();
  return Promise.resolve({
    driver,
    sibling: () => Promise.resolve(driver),
    cleanup: () => driver.close(),
  });
});
