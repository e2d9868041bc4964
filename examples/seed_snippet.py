import asyncio
from usepolvo.stripe import StripeClient
client = StripeClient()
async def fetch_customers_and_charges():
    customers_future = client.customers.list_customers(page=1, size=10)
    charges_future = client.charges.list_charges(page=1, size=10)
    customers, charges = await asyncio.gather(customers_future, charges_future)
    return customers, charges
customers, charges = asyncio.run(fetch_customers_and_charges())
print(len(customers), len(charges))
