/** Registers the seven settings in the papers' table order (H→T, L→T, SR-FT, S→T, T→S, S+T, SR4IR). */
import "./simple.js";
import "./task2sr.js";
import "./joint.js";
import "./sr4ir.js";

export * from "./registry.js";
