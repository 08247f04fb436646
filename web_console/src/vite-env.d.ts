/// <reference types="vite/client" />
// Vite's explicit URL imports (`import url from "x?url"`): the file is emitted as it is, and its URL is the value.
declare module "*?url" {
  const url: string;
  export default url;
}
