export * from './case';
export * from './clock';
export * from './events';
export * from './messages';
export * from './money';
export * from './policy';
export * from './search-attributes';
