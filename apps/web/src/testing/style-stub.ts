// Stylesheet imports (`import '../styles/x.css'`) resolve here in jest: jsdom lays nothing out.
export {};
