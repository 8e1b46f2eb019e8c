// A customer's start page: their own meters (the API returns no others).
import { h } from '../dom.js';
import { meterList } from './meterlist.js';

export async function customerHome({ main, me }) {
  document.title = 'My meters · MeterHub';
  const list = meterList({ showCustomer: false, pageSize: 20 });
  main.replaceChildren(h('h1', {}, 'My meters'), h('p', {}, `Customer ${me.customer_id}`), list.el);
  await list.load();
}
